"""The psychiatric formulary: names, schedules, RxNorm codes, dose maxima and the dose check."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from clinical._data import load

DOSE_UNITS: tuple[str, ...] = ("mg", "mcg", "g")
_UNIT_TO_MG = {"mg": 1.0, "mcg": 0.001, "g": 1000.0}
# Doses per day for each frequency code; "as needed" counts the most doses a day it allows (up to 4).
FREQUENCY_DOSES_PER_DAY: dict[str, int] = {
    "once daily": 1,
    "every morning": 1,
    "at bedtime": 1,
    "twice daily": 2,
    "three times daily": 3,
    "four times daily": 4,
    "as needed": 4,
}
FREQUENCIES: tuple[str, ...] = tuple(FREQUENCY_DOSES_PER_DAY)


@dataclass(frozen=True)
class FormularyEntry:
    name: str
    drug_class: str
    group: str
    schedule: str | None
    rxnorm: str | None
    usual_start_daily_mg: float | None
    max_daily_mg: float | None
    max_reason: str | None
    dose_unit: str
    common_daily_doses_mg: tuple[float, ...]
    is_antipsychotic: bool
    is_antidepressant: bool
    red_flag_side_effects: tuple[str, ...]
    has_level: bool
    aliases: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class DoseCheck:
    status: str  # "ok", "above_max", "invalid", "unknown_drug"
    max_daily_mg: float | None
    message: str


def _normalise(name: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\s*[/-]\s*", "/", name.strip().lower()))


@cache
def _raw_entries() -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in load("formulary")["drugs"]}


@cache
def _alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for name, entry in _raw_entries().items():
        for alias in (name, *entry.get("aliases", [])):
            index[_normalise(alias)] = name
    return index


_SALT_WORDS = (
    "carbonate",
    "citrate",
    "hydrochloride",
    "hcl",
    "sodium",
    "er",
    "xr",
    "xl",
    "sr",
    "ir",
    "extended-release",
)


def resolve_drug(name: str) -> str | None:
    """The formulary's canonical generic name for a drug, salt, brand or combination name; None if unknown."""
    if not isinstance(name, str) or not name.strip():
        return None
    key = _normalise(name)
    index = _alias_index()
    if key in index:
        return index[key]
    words = [w for w in key.replace("/", " / ").split() if w not in _SALT_WORDS]
    stripped = _normalise(" ".join(words))
    return index.get(stripped)


@cache
def formulary_entry(drug: str) -> FormularyEntry:
    """The formulary entry for ``drug`` (any accepted name); KeyError if it is not in the formulary."""
    canonical = resolve_drug(drug)
    if canonical is None:
        raise KeyError(drug)
    raw = _raw_entries()[canonical]
    return FormularyEntry(
        name=canonical,
        drug_class=raw["drug_class"],
        group=raw["group"],
        schedule=raw["schedule"],
        rxnorm=raw.get("rxnorm"),
        usual_start_daily_mg=raw.get("usual_start_daily_mg"),
        max_daily_mg=raw.get("max_daily_mg"),
        max_reason=raw.get("max_reason"),
        dose_unit="mg",
        common_daily_doses_mg=tuple(float(d) for d in raw.get("common_daily_doses_mg", [])),
        is_antipsychotic=raw["group"] == "antipsychotic",
        is_antidepressant=raw["group"] == "antidepressant",
        red_flag_side_effects=tuple(raw.get("red_flag_keywords", [])),
        has_level=bool(raw.get("has_level")),
        aliases=tuple(raw.get("aliases", [])),
        sources=tuple(raw.get("sources", [])),
    )


def formulary() -> list[FormularyEntry]:
    """Every formulary drug, sorted by name."""
    return [formulary_entry(name) for name in sorted(_raw_entries())]


def drug_schedule(drug: str) -> str | None:
    """The DEA schedule ("II".."V") of a formulary drug, or None if it is not controlled (or unknown)."""
    canonical = resolve_drug(drug)
    return _raw_entries()[canonical]["schedule"] if canonical else None


def daily_dose_mg(dose: float, unit: str, frequency: str) -> float:
    """Total daily dose in mg for a dose, unit and frequency code; ValueError for unknown units or codes."""
    if isinstance(dose, bool) or not isinstance(dose, int | float) or not math.isfinite(dose) or dose <= 0:
        raise ValueError(f"dose must be a number greater than 0, got {dose!r}")
    if unit not in _UNIT_TO_MG:
        raise ValueError(f"unit must be one of {', '.join(DOSE_UNITS)}, got {unit!r}")
    if frequency not in FREQUENCY_DOSES_PER_DAY:
        raise ValueError(f"frequency must be one of {', '.join(FREQUENCIES)}, got {frequency!r}")
    return round(dose * _UNIT_TO_MG[unit] * FREQUENCY_DOSES_PER_DAY[frequency], 6)


def _rule_applies(when: dict[str, Any], age: int | None, formulation: str | None, indication: str | None) -> bool:
    for key, value in when.items():
        if key == "age_over" and not (age is not None and age > value):
            return False
        if key == "age_under" and not (age is not None and age < value):
            return False
        if key == "formulation" and (formulation or "").strip().upper() != str(value).upper():
            return False
        if key == "indication" and (indication or "").strip().lower() != str(value).lower():
            return False
    return True


def check_dose(
    drug: str, daily_mg: float, *, age: int | None = None, formulation: str | None = None, indication: str | None = None
) -> DoseCheck:
    """Check a total daily dose against the label maximum that applies to this patient and use.

    Conditional maxima (age, formulation, indication) replace the default when they apply; where several
    apply, the lowest wins. Drugs dosed by level or weight (lithium, valproate) have no fixed maximum.
    """
    if (
        isinstance(daily_mg, bool)
        or not isinstance(daily_mg, int | float)
        or not math.isfinite(daily_mg)
        or daily_mg <= 0
    ):
        return DoseCheck("invalid", None, f"The daily dose must be a number greater than 0 mg (got {daily_mg!r}).")
    canonical = resolve_drug(drug) if isinstance(drug, str) else None
    if canonical is None:
        return DoseCheck("unknown_drug", None, f"{drug!r} is not in the formulary.")
    raw = _raw_entries()[canonical]
    applicable = [
        rule for rule in raw.get("max_rules", []) if _rule_applies(rule["when"], age, formulation, indication)
    ]
    if applicable:
        rule = min(applicable, key=lambda r: r["max"])
        limit, why = float(rule["max"]), rule["why"]
    elif raw.get("max_daily_mg") is not None:
        limit, why = float(raw["max_daily_mg"]), "label maximum"
    else:
        review = raw.get("review_above_daily_mg")
        note = f" Doses above {review:g} mg/day need review of levels." if review and daily_mg > review else ""
        return DoseCheck("ok", None, f"{canonical} {daily_mg:g} mg/day: {raw['max_reason']}.{note}")
    if daily_mg > limit:
        return DoseCheck(
            "above_max", limit, f"{canonical} {daily_mg:g} mg/day is above the maximum of {limit:g} mg/day ({why})."
        )
    return DoseCheck("ok", limit, f"{canonical} {daily_mg:g} mg/day is within the maximum of {limit:g} mg/day ({why}).")


def allergy_matches(drug: str, allergies: list[str]) -> list[str]:
    """Recorded allergies that match ``drug``: the same drug (any name), or cross-sensitivity between the
    aromatic anticonvulsants (carbamazepine, oxcarbazepine, phenytoin, lamotrigine) for serious rash. A drug
    outside the formulary (an outside medication being onboarded) matches an allergy recorded under its name."""
    canonical = resolve_drug(drug) if isinstance(drug, str) else None
    if canonical is None:
        name = _normalise(drug) if isinstance(drug, str) else ""
        return [allergy for allergy in allergies if name and _normalise(allergy or "") == name]
    aromatic = {"carbamazepine", "oxcarbazepine", "phenytoin", "lamotrigine"}
    matches = []
    for allergy in allergies:
        text = (allergy or "").strip()
        resolved = resolve_drug(text) or _normalise(text)
        if resolved == canonical or (canonical in aromatic and resolved in aromatic):
            matches.append(text)
    return matches
