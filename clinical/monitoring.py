"""Monitoring by drug, event and time on treatment (labs, and vital signs on request); lab reference data;
levels and lab results, including the clozapine ANC grades for the general population and for benign ethnic
neutropenia."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from clinical._data import load
from clinical.formulary import formulary_entry, resolve_drug
from clinical.reproductive import could_be_pregnant
from clinical.vitals import vital_sign

EVENTS = ("start", "dose_change", "maintenance")
LIPID_SCHEDULES = ("ada_apa_2004", "apa_2020")
KINDS = ("lab", "vital")


@dataclass(frozen=True)
class LabDue:
    test: str
    loinc: str | None
    due_by: date
    reason: str
    kind: str = "lab"  # "lab", or "vital" for a vital-sign check (weight, BMI, blood pressure, waist, heart rate)


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
    analyte: str | None = None  # what the value measures when the test ordered is a panel ("Platelet count")
    order_loinc: str | None = None  # the panel code to order, when it differs from the result code


@dataclass(frozen=True)
class LabInterpretation:
    abnormal: bool
    critical: bool
    interpretation: str  # "normal", "low", "high", "critical low", "critical high"
    message: str
    action: str = ""  # what the label asks for at this result (clozapine ANC grades), "" when nothing specific


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
            raw.get("analyte"),
            raw.get("order_loinc"),
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
    kind = rule.get("kind", "lab")
    known = vital_sign(rule["test"]) if kind == "vital" else lab_test(rule["test"])
    loinc = known.loinc if known else None
    return LabDue(rule["test"], loinc, on + timedelta(days=offset_days), rule["reason"], kind)


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


def _check_patient(sex: str | None, age: int | None, pregnant: bool | None) -> None:
    if sex is not None and not isinstance(sex, str):
        raise ValueError(f"sex must be text or None, got {sex!r}")
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or age < 0):
        raise ValueError(f"age must be a whole number of years >= 0 or None, got {age!r}")
    if pregnant is not None and not isinstance(pregnant, bool):
        raise ValueError(f"pregnant must be True, False or None, got {pregnant!r}")


def monitoring_labs(
    drug: str,
    event: str,
    *,
    on: date,
    weeks_on_treatment: int | None = None,
    ancestry: str | None = None,
    lipid_interval: str = "ada_apa_2004",
    sex: str | None = None,
    age: int | None = None,
    pregnant: bool | None = None,
    include_vitals: bool = False,
) -> list[LabDue]:
    """Labs (and, with ``include_vitals``, vital signs) the rules require for ``drug`` at ``event`` ("start",
    "dose_change" or "maintenance").

    start/dose_change: what to order now, each with its due date. maintenance: the next due date of each
    repeating test at ``weeks_on_treatment`` (required). ``lipid_interval`` chooses the antipsychotic lipid
    schedule: "ada_apa_2004" (baseline, 12 weeks, then every 5 years) or "apa_2020" (about 16 weeks, then
    yearly). ``sex``, ``age`` and ``pregnant`` decide the pregnancy test before teratogens; unknown values err on
    the side of testing (a patient of unknown sex or age gets one; a patient recorded as male, outside
    reproductive age or already known to be pregnant does not). ``include_vitals`` adds vital-sign items
    (``kind="vital"``: weight, BMI, blood pressure, waist circumference, heart rate; ADA/APA 2004 for
    antipsychotics) so that callers that order labs keep receiving labs only. An unknown drug raises ValueError; a
    formulary drug without monitoring rules returns [].
    """
    if event not in EVENTS:
        raise ValueError(f"event must be one of {', '.join(EVENTS)}, got {event!r}")
    if lipid_interval not in LIPID_SCHEDULES:
        raise ValueError(f"lipid_interval must be one of {', '.join(LIPID_SCHEDULES)}")
    _check_patient(sex, age, pregnant)
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
    # A pregnancy test is pointless once pregnancy is known; the reproductive-safety findings cover that case.
    pregnancy_test = pregnant is not True and could_be_pregnant(sex, age)
    due: list[LabDue] = []
    for rule in rules:
        if rule.get("kind", "lab") == "vital" and not include_vitals:
            continue
        if rule.get("if_could_be_pregnant") and not pregnancy_test:
            continue
        marker = rule.get("ancestry_list")
        if marker and not at_risk_ancestry(ancestry, marker):
            continue
        if event == "maintenance":
            item = _maintenance_due(rule, on, int(weeks_on_treatment or 0), int(rule["every_days"]))
            if item is not None:
                due.append(item)
        else:
            due.append(_due(rule, on, int(rule["offset_days"])))
    return sorted(due, key=lambda lab: (lab.due_by, lab.kind, lab.test))


@cache
def _neutropenia_grades(test: str) -> dict[str, Any] | None:
    raw = next((t for t in load("labs")["tests"] if t["name"] == test), None)
    grades: dict[str, Any] | None = raw.get("neutropenia_grades") if raw else None
    return grades


def _graded(test: LabTest, value: float, benign_ethnic_neutropenia: bool) -> LabInterpretation | None:
    """The clozapine-label grade of a low ANC (general population or benign ethnic neutropenia), or None when the
    count is at or above the grades."""
    grades = _neutropenia_grades(test.name)
    if grades is None:
        return None
    table = grades["benign_ethnic_neutropenia" if benign_ethnic_neutropenia else "general"]
    for grade in sorted(table, key=lambda g: g["below"]):
        if value < grade["below"]:
            action = f"{grade['action']}. {grades['confirm']}"
            return LabInterpretation(
                True,
                bool(grade["critical"]),
                "critical low" if grade["critical"] else "low",
                f"{test.name} {value:g} {test.unit} ({value * 1000:.0f}/uL): {grade['grade']}. {action}",
                action,
            )
    return None


def classify_lab_result(
    test: str,
    value: float,
    *,
    ref_low: float | None = None,
    ref_high: float | None = None,
    benign_ethnic_neutropenia: bool = False,
) -> LabInterpretation:
    """Interpret a result: the given reference range (else the catalogue's), and the catalogue's critical limits.

    A low ANC is graded as the clozapine label does: below 1500/uL mild (continue, ANC three times weekly), below
    1000/uL moderate (interrupt: critical), below 500/uL severe (critical). With ``benign_ethnic_neutropenia``
    the label's BEN thresholds apply instead: 1000/uL and above is normal whatever the lab's range, 500-999/uL
    continues treatment with ANC three times weekly (abnormal, not critical), below 500/uL interrupts (critical).
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"lab value must be a finite number, got {value!r}")
    if not isinstance(benign_ethnic_neutropenia, bool):
        raise ValueError(f"benign_ethnic_neutropenia must be True or False, got {benign_ethnic_neutropenia!r}")
    known = lab_test(test)
    low = ref_low if ref_low is not None else (known.ref_low if known else None)
    high = ref_high if ref_high is not None else (known.ref_high if known else None)
    graded = _graded(known, value, benign_ethnic_neutropenia) if known else None
    if graded is not None:
        return graded
    if known and benign_ethnic_neutropenia and _neutropenia_grades(known.name) is not None:
        low = None  # at or above the BEN threshold the count is normal for this patient, whatever the lab's range
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
