"""Symptom scales: scoring, severity bands, screening cut-offs, and treatment outcomes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from clinical._data import load

INSTRUMENTS: tuple[str, ...] = ("PHQ-9", "GAD-7", "AUDIT-C", "PCL-5", "C-SSRS screener")
_ALIASES = {
    "phq9": "PHQ-9",
    "phq-9": "PHQ-9",
    "gad7": "GAD-7",
    "gad-7": "GAD-7",
    "auditc": "AUDIT-C",
    "audit-c": "AUDIT-C",
    "pcl5": "PCL-5",
    "pcl-5": "PCL-5",
    "c-ssrs": "C-SSRS screener",
    "cssrs": "C-SSRS screener",
    "c-ssrs screener": "C-SSRS screener",
    "cssrs screener": "C-SSRS screener",
}
CSSRS_QUESTIONS = ("q1", "q2", "q3", "q4", "q5", "q6")


@dataclass(frozen=True)
class SeverityBand:
    low: int
    high: int
    label: str


@dataclass(frozen=True)
class InstrumentInfo:
    name: str
    full_name: str
    n_items: int
    item_min: int | None
    item_max: int | None
    total_min: int | None
    total_max: int | None
    bands: tuple[SeverityBand, ...]
    mcid: int | None
    loinc_panel: str | None
    loinc_total: str | None
    item_loinc: tuple[str, ...]
    item_labels: tuple[str, ...]


@dataclass(frozen=True)
class InstrumentScore:
    instrument: str
    total: int | None
    severity: str | None
    positive: bool | None
    flags: frozenset[str] = field(default_factory=frozenset)
    item9: int | None = None


@dataclass(frozen=True)
class TreatmentOutcome:
    percent_reduction: float
    response: bool
    remission: bool
    clinically_important_change: bool


def canonical_instrument(instrument: str) -> str:
    """The canonical name of an instrument (case- and punctuation-insensitive); ValueError if unknown."""
    if not isinstance(instrument, str):
        raise ValueError(f"instrument must be a name, got {instrument!r}")
    key = instrument.strip().lower()
    for name in INSTRUMENTS:
        if key == name.lower():
            return name
    if key in _ALIASES:
        return _ALIASES[key]
    raise ValueError(f"unknown instrument {instrument!r}; known: {', '.join(INSTRUMENTS)}")


def _raw(instrument: str) -> dict[str, Any]:
    return load("instruments")["instruments"][instrument]


def instrument_info(instrument: str) -> InstrumentInfo:
    """Items, ranges, bands, MCID and LOINC codes of an instrument."""
    name = canonical_instrument(instrument)
    raw = _raw(name)
    return InstrumentInfo(
        name=name,
        full_name=raw["full_name"],
        n_items=raw["n_items"],
        item_min=raw.get("item_min"),
        item_max=raw.get("item_max"),
        total_min=raw.get("total_min"),
        total_max=raw.get("total_max"),
        bands=tuple(SeverityBand(b["min"], b["max"], b["label"]) for b in raw.get("bands", [])),
        mcid=raw.get("mcid_points"),
        loinc_panel=raw.get("loinc_panel"),
        loinc_total=raw.get("loinc_total"),
        item_loinc=tuple(raw.get("item_loinc", [])),
        item_labels=tuple(raw.get("item_labels", [])),
    )


def severity_for(instrument: str, total: int) -> str | None:
    for band in instrument_info(instrument).bands:
        if band.low <= total <= band.high:
            return band.label
    return None


def _check_items(name: str, answers: Any, info: InstrumentInfo) -> list[int]:
    if not isinstance(answers, list | tuple):
        raise ValueError(f"{name} answers must be a list of {info.n_items} integers")
    if len(answers) != info.n_items:
        raise ValueError(f"{name} needs {info.n_items} item answers, got {len(answers)}")
    checked = []
    for number, value in enumerate(answers, start=1):
        if isinstance(value, bool) or not isinstance(value, int) or not info.item_min <= value <= info.item_max:  # type: ignore[operator]
            raise ValueError(f"{name} item {number} must be an integer {info.item_min}-{info.item_max}, got {value!r}")
        checked.append(value)
    return checked


def _score_cssrs(answers: Any) -> InstrumentScore:
    if not isinstance(answers, dict):
        raise ValueError("C-SSRS screener answers must be a dict of q1..q6 -> bool")
    unknown = set(answers) - {*CSSRS_QUESTIONS, "q6_months_ago"}
    if unknown:
        raise ValueError(f"C-SSRS screener: unknown item(s) {', '.join(sorted(map(str, unknown)))}")
    for question in ("q1", "q2", "q6"):
        if not isinstance(answers.get(question), bool):
            raise ValueError(f"C-SSRS screener item {question} must be true or false")
    yes = {q: False for q in CSSRS_QUESTIONS}
    yes.update({q: answers[q] for q in ("q1", "q2", "q6")})
    # Skip logic: Q3-Q5 are asked only when Q2 is yes; otherwise they must be absent or false.
    for question in ("q3", "q4", "q5"):
        value = answers.get(question)
        if answers["q2"]:
            if not isinstance(value, bool):
                raise ValueError(f"C-SSRS screener item {question} must be true or false when q2 is yes")
            yes[question] = value
        elif value not in (None, False):
            raise ValueError(f"C-SSRS screener item {question} is asked only when q2 is yes")
    months_ago = answers.get("q6_months_ago")
    if yes["q6"] and (
        isinstance(months_ago, bool)
        or not isinstance(months_ago, int | float)
        or not math.isfinite(months_ago)
        or months_ago < 0
    ):
        raise ValueError("C-SSRS screener item q6_months_ago must be a number of months >= 0 when q6 is yes")
    if yes["q4"] or yes["q5"] or (yes["q6"] and months_ago is not None and months_ago <= 3):
        severity = "high"
    elif yes["q3"] or yes["q6"]:
        severity = "moderate"
    else:
        severity = "low"
    positive = any(yes.values())
    flags = frozenset(
        {"suicide_risk_high"} if severity == "high" else {"suicide_risk_moderate"} if severity == "moderate" else set()
    )
    return InstrumentScore("C-SSRS screener", None, severity, positive, flags)


def score_instrument(instrument: str, answers: Any, *, sex: str | None = None) -> InstrumentScore:
    """Score a completed instrument by its published rules.

    ``answers`` is a list of item values in order (C-SSRS screener: a dict of "q1".."q6" -> bool, plus
    "q6_months_ago" when q6 is true; q3-q5 only when q2 is true). Invalid answers raise ValueError naming
    the item. PHQ-9 item 9 above 0 adds the flag "self_harm" whatever the total.
    """
    name = canonical_instrument(instrument)
    if name == "C-SSRS screener":
        return _score_cssrs(answers)
    info = instrument_info(name)
    items = _check_items(name, answers, info)
    total = sum(items)
    raw = _raw(name)
    flags: set[str] = set()
    item9 = None
    if name == "PHQ-9":
        item9 = items[8]
        if item9 > 0:
            flags.add("self_harm")
        positive = total >= raw["screening_cutoff"]
    elif name == "GAD-7":
        positive = total >= raw["screening_cutoff"]
    elif name == "AUDIT-C":
        sex_key = (sex or "").strip().lower()
        cutoff = (
            raw["cutoff_male"]
            if sex_key in ("male", "m")
            else raw["cutoff_female"]
            if sex_key in ("female", "f")
            else raw["cutoff_unknown_sex"]
        )
        positive = total >= cutoff
    else:  # PCL-5
        positive = total >= raw["provisional_cutoff"]
    return InstrumentScore(
        name, total, severity_for(name, total) if info.bands else None, positive, frozenset(flags), item9
    )


def outcome_instruments() -> tuple[str, ...]:
    """The instruments with published response and remission rules: what the program's outcomes are measured by."""
    return tuple(name for name in INSTRUMENTS if _raw(name).get("remission_below") is not None)


def response_level(instrument: str, baseline_total: int) -> float | None:
    """The score at or below which a patient counts as a responder: the baseline less the instrument's response
    reduction (50 % for PHQ-9 and GAD-7, so baseline x 0.5); None when the instrument defines no response."""
    reduction = _raw(canonical_instrument(instrument)).get("response_reduction")
    return None if reduction is None else baseline_total * (1 - reduction)


def treatment_outcome(baseline_total: int, current_total: int, instrument: str = "PHQ-9") -> TreatmentOutcome:
    """Response (>= 50 % reduction), remission (below 5) and a clinically important improvement (>= MCID).

    A baseline of 0 has nothing to reduce: percent_reduction is 0.0 and response False.
    """
    info = instrument_info(instrument)
    for label, value in (("baseline", baseline_total), ("current", current_total)):
        if isinstance(value, bool) or not isinstance(value, int) or not info.total_min <= value <= info.total_max:  # type: ignore[operator]
            raise ValueError(
                f"{info.name} {label} total must be an integer {info.total_min}-{info.total_max}, got {value!r}"
            )
    raw = _raw(info.name)
    reduction = 0.0 if baseline_total == 0 else round(100 * (baseline_total - current_total) / baseline_total, 1)
    remission_below = raw.get("remission_below")
    return TreatmentOutcome(
        percent_reduction=reduction,
        response=baseline_total > 0 and reduction >= 100 * raw.get("response_reduction", 0.5),
        remission=remission_below is not None and current_total < remission_below,
        clinically_important_change=info.mcid is not None and baseline_total - current_total >= info.mcid,
    )
