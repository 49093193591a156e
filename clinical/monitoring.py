"""Monitoring labs by drug, event and time on treatment; lab reference data; levels and lab results."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from clinical._data import load
from clinical.formulary import formulary_entry, resolve_drug

EVENTS = ("start", "dose_change", "maintenance")
LIPID_SCHEDULES = ("ada_apa_2004", "apa_2020")


@dataclass(frozen=True)
class LabDue:
    test: str
    loinc: str | None
    due_by: date
    reason: str


@dataclass(frozen=True)
class LabTest:
    name: str
    loinc: str | None
    unit: str
    ref_low: float | None
    ref_high: float | None
    critical_low: float | None
    critical_high: float | None
    source: str


@dataclass(frozen=True)
class LabInterpretation:
    abnormal: bool
    critical: bool
    interpretation: str  # "normal", "low", "high", "critical low", "critical high"
    message: str


@dataclass(frozen=True)
class LevelCheck:
    status: str  # "below_range", "in_range", "above_range", "toxic"
    range: tuple[float, float]
    message: str


@cache
def _tests() -> dict[str, LabTest]:
    return {
        raw["name"]: LabTest(
            raw["name"],
            raw.get("loinc"),
            raw["unit"],
            raw.get("ref_low"),
            raw.get("ref_high"),
            raw.get("critical_low"),
            raw.get("critical_high"),
            raw["source"],
        )
        for raw in load("labs")["tests"]
    }


def lab_tests() -> list[LabTest]:
    """The lab catalogue: LOINC code, unit, reference interval and critical limits of each test."""
    return list(_tests().values())


def lab_test(name: str) -> LabTest | None:
    lowered = name.strip().lower()
    return next((test for test in _tests().values() if test.name.lower() == lowered), None)


def _words(text: str) -> str:
    return " " + " ".join(re.sub(r"[^a-z]+", " ", text.lower()).split()) + " "


def at_risk_ancestry(ancestry: str | None, marker: str = "HLA-B*15:02") -> bool:
    """Whether recorded ancestry text names a population in which ``marker`` testing is advised.

    Matches whole words and phrases from an explicit list (monitoring.json "ancestry_lists"), never substrings:
    "Han Chinese", "Thai", "Indian", "Filipino/White" match for HLA-B*15:02; "Caucasian", "American Indian"
    and an empty value do not. KeyError for an unknown marker."""
    group = load("monitoring")["ancestry_lists"][marker]
    if not ancestry or not ancestry.strip():
        return False
    text = _words(ancestry)
    for phrase in group["not"]:
        text = text.replace(_words(phrase), " ")
    return any(_words(term) in text for term in group["terms"])


def _due(rule: dict[str, Any], on: date, offset_days: int) -> LabDue:
    test = lab_test(rule["test"])
    return LabDue(rule["test"], test.loinc if test else None, on + timedelta(days=offset_days), rule["reason"])


def _maintenance_due(rule: dict[str, Any], on: date, weeks: int, every_days: int) -> LabDue | None:
    """Next due date of a repeating test, counted from the treatment start, if this stage of treatment applies."""
    after = rule.get("after_weeks", 0)
    until = rule.get("until_weeks")
    if weeks < after or (until is not None and weeks >= until):
        return None
    start = on - timedelta(weeks=weeks)
    days_on = (on - start).days
    anchor = after * 7
    elapsed = max(0, days_on - anchor)
    next_offset = anchor + ((elapsed // every_days) + 1) * every_days
    return _due(rule, start, next_offset)


def monitoring_labs(
    drug: str,
    event: str,
    *,
    on: date,
    weeks_on_treatment: int | None = None,
    ancestry: str | None = None,
    lipid_interval: str = "ada_apa_2004",
) -> list[LabDue]:
    """Labs the rules require for ``drug`` at ``event`` ("start", "dose_change" or "maintenance").

    start/dose_change: what to order now, each with its due date. maintenance: the next due date of each
    repeating test at ``weeks_on_treatment`` (required). ``lipid_interval`` chooses the antipsychotic lipid
    schedule: "ada_apa_2004" (baseline, 12 weeks, then every 5 years) or "apa_2020" (about 16 weeks, then
    yearly). An unknown drug raises ValueError; a formulary drug without monitoring rules returns [].
    """
    if event not in EVENTS:
        raise ValueError(f"event must be one of {', '.join(EVENTS)}, got {event!r}")
    if lipid_interval not in LIPID_SCHEDULES:
        raise ValueError(f"lipid_interval must be one of {', '.join(LIPID_SCHEDULES)}")
    canonical = resolve_drug(drug)
    if canonical is None:
        raise ValueError(f"{drug!r} is not in the formulary")
    if event == "maintenance" and (weeks_on_treatment is None or weeks_on_treatment < 0):
        raise ValueError("maintenance monitoring needs weeks_on_treatment >= 0")
    data = load("monitoring")
    rules: list[dict[str, Any]] = list(data["drugs"].get(canonical, {}).get(event, []))
    if formulary_entry(canonical).is_antipsychotic:
        protocol = data["antipsychotic_metabolic"]
        lipids = protocol["lipid_schedules"][lipid_interval]
        for rule in protocol.get(event, []):
            rule = dict(rule)
            if rule.get("offset_days") == "lipid_followup":
                rule["offset_days"] = lipids["followup_days"]
            if rule.get("every_days") == "lipid_interval":
                rule["every_days"] = lipids["interval_days"]
            rules.append(rule)
    due: list[LabDue] = []
    for rule in rules:
        marker = rule.get("ancestry_list")
        if marker and not at_risk_ancestry(ancestry, marker):
            continue
        if event == "maintenance":
            item = _maintenance_due(rule, on, int(weeks_on_treatment or 0), int(rule["every_days"]))
            if item is not None:
                due.append(item)
        else:
            due.append(_due(rule, on, int(rule["offset_days"])))
    return sorted(due, key=lambda lab: (lab.due_by, lab.test))


def classify_lab_result(
    test: str, value: float, *, ref_low: float | None = None, ref_high: float | None = None
) -> LabInterpretation:
    """Interpret a result: the given reference range (else the catalogue's), and the catalogue's critical limits."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"lab value must be a finite number, got {value!r}")
    known = lab_test(test)
    low = ref_low if ref_low is not None else (known.ref_low if known else None)
    high = ref_high if ref_high is not None else (known.ref_high if known else None)
    if known and known.critical_high is not None and value >= known.critical_high:
        return LabInterpretation(
            True,
            True,
            "critical high",
            f"{test} {value:g} is at or above the critical limit {known.critical_high:g} {known.unit}.",
        )
    if known and known.critical_low is not None and value <= known.critical_low:
        return LabInterpretation(
            True,
            True,
            "critical low",
            f"{test} {value:g} is at or below the critical limit {known.critical_low:g} {known.unit}.",
        )
    if high is not None and value > high:
        return LabInterpretation(True, False, "high", f"{test} {value:g} is above the reference range (high {high:g}).")
    if low is not None and value < low:
        return LabInterpretation(True, False, "low", f"{test} {value:g} is below the reference range (low {low:g}).")
    return LabInterpretation(False, False, "normal", f"{test} {value:g} is within the reference range.")


_LEVEL_TESTS = {"lithium": "Lithium level", "valproate": "Valproate level", "carbamazepine": "Carbamazepine level"}


def check_level(drug: str, value: float) -> LevelCheck:
    """Compare a serum level with the drug's therapeutic range and toxic threshold; ValueError if no level
    applies to the drug or the value is not a number."""
    canonical = resolve_drug(drug)
    if canonical not in _LEVEL_TESTS:
        raise ValueError(f"no therapeutic level is defined for {drug!r}")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(f"level must be a number >= 0, got {value!r}")
    test = _tests()[_LEVEL_TESTS[canonical]]
    assert test.ref_low is not None and test.ref_high is not None
    low, high = float(test.ref_low), float(test.ref_high)
    if test.critical_high is not None and value >= test.critical_high:
        status, text = "toxic", f"at or above the toxic threshold {test.critical_high:g} {test.unit}"
    elif value > high:
        status, text = "above_range", f"above the therapeutic range {low:g}-{high:g} {test.unit}"
    elif value < low:
        status, text = "below_range", f"below the therapeutic range {low:g}-{high:g} {test.unit}"
    else:
        status, text = "in_range", f"within the therapeutic range {low:g}-{high:g} {test.unit}"
    return LevelCheck(status, (low, high), f"{canonical} level {value:g} {test.unit} is {text}.")
