"""The psychiatric formulary: names, schedules, RxNorm codes, dose maxima (by use, age band and organ function)
and the dose check."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache, lru_cache
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
    # "ok", "above_max", "contraindicated", "not_recommended" (label: avoid / not recommended), "invalid",
    # "unknown_drug". Anything but "ok" stops a prescription until a clinician resolves it.
    status: str
    max_daily_mg: float | None
    message: str
    cautions: tuple[str, ...] = ()  # label advice that does not block (start low, titrate slowly, monitor)
    sources: tuple[str, ...] = ()  # where each limit and caution that applied comes from


DOSE_STATUSES: tuple[str, ...] = ("ok", "above_max", "contraindicated", "not_recommended", "invalid", "unknown_drug")
# Hepatic impairment grades (Child-Pugh A, B, C); "none" means assessed and normal.
HEPATIC_GRADES: tuple[str, ...] = ("none", "mild", "moderate", "severe")
_HEPATIC_ALIASES = {
    "child-pugh a": "mild",
    "child pugh a": "mild",
    "child-pugh b": "moderate",
    "child pugh b": "moderate",
    "child-pugh c": "severe",
    "child pugh c": "severe",
    "normal": "none",
}
_AGE_KEYS = frozenset({"age_over", "age_under"})


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


@cache
def _dose_limits() -> dict[str, Any]:
    data: dict[str, Any] = load("dose_limits")
    return data


def _words(text: str) -> str:
    return " " + " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split()) + " "


# Free-text indications reach this look-up, so its cache is bounded.
@lru_cache(maxsize=1024)
def _indication_keys(indication: str | None) -> frozenset[str]:
    """The rule keys an indication names: the text itself ("ocd") and every key whose phrases or ICD-10 codes
    appear in it as whole words ("Obsessive-compulsive disorder (F42.2)" names "ocd"), so that the free-text
    indication on a prescription still meets the label's indication-specific maxima."""
    text = (indication or "").strip().lower() if isinstance(indication, str) else ""
    if not text:
        return frozenset()
    words = _words(text)
    keys = {text}
    for key, phrases in _dose_limits()["indication_phrases"].items():
        if any(_words(phrase) in words for phrase in phrases):
            keys.add(key)
    return frozenset(keys)


def _formulation_matches(value: Any, formulation: str | None) -> bool:
    wanted = [str(v).upper() for v in (value if isinstance(value, list) else [value])]
    return (formulation or "").strip().upper() in wanted


def _rule_applies(
    when: dict[str, Any],
    age: int | None,
    formulation: str | None,
    indication: str | None,
    *,
    crcl: float | None = None,
    hepatic: str | None = None,
) -> bool:
    """Whether every condition of a rule holds; a condition on an unknown value (age, CrCl, hepatic grade) fails."""
    keys = _indication_keys(indication)
    for key, value in when.items():
        if key == "age_over" and not (age is not None and age > value):
            return False
        if key == "age_under" and not (age is not None and age < value):
            return False
        if key == "formulation" and not _formulation_matches(value, formulation):
            return False
        if key == "formulation_not" and _formulation_matches(value, formulation):
            return False
        if key == "indication" and str(value).lower() not in keys:
            return False
        if key == "crcl_below" and not (crcl is not None and crcl < value):
            return False
        if key == "crcl_at_most" and not (crcl is not None and crcl <= value):
            return False
        if key == "crcl_above" and not (crcl is not None and crcl > value):
            return False
        if key == "crcl_at_least" and not (crcl is not None and crcl >= value):
            return False
        if key == "hepatic" and hepatic not in value:
            return False
    return True


def _most_specific(rules: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The applicable rule with the most conditions (CR + panic disorder beats CR alone); the lowest on a tie."""
    if not rules:
        return None
    return min(rules, key=lambda rule: (-len(rule["when"]), rule["max"]))


def _invalid_organ_input(crcl_ml_min: float | None, hepatic_impairment: str | None) -> str | None:
    if crcl_ml_min is not None and (
        isinstance(crcl_ml_min, bool)
        or not isinstance(crcl_ml_min, int | float)
        or not math.isfinite(crcl_ml_min)
        or crcl_ml_min < 0
    ):
        return f"Creatinine clearance must be a number of mL/min >= 0 (got {crcl_ml_min!r})."
    if hepatic_impairment is not None and _hepatic_grade(hepatic_impairment) is None:
        return f"Hepatic impairment must be one of {', '.join(HEPATIC_GRADES)} (got {hepatic_impairment!r})."
    return None


def _hepatic_grade(value: str | None) -> str | None:
    if not isinstance(value, str):
        return None
    key = " ".join(value.strip().lower().split())
    key = _HEPATIC_ALIASES.get(key, key)
    return key if key in HEPATIC_GRADES else None


def _dose_entry(drug: str) -> tuple[str, dict[str, Any]] | None:
    """(canonical name, dose data) for a formulary drug, or for an outside medication with labelled limits."""
    canonical = resolve_drug(drug) if isinstance(drug, str) else None
    if canonical is not None:
        return canonical, _raw_entries()[canonical]
    if not isinstance(drug, str):
        return None
    from clinical.medications import resolve_medication  # medications imports this module

    outside = resolve_medication(drug)
    entry = _dose_limits()["outside_medications"].get(outside or "")
    return (outside, entry) if outside and entry else None


def check_dose(
    drug: str,
    daily_mg: float,
    *,
    age: int | None = None,
    formulation: str | None = None,
    indication: str | None = None,
    crcl_ml_min: float | None = None,
    hepatic_impairment: str | None = None,
) -> DoseCheck:
    """Check a total daily dose against the label maximum that applies to this patient and use.

    Maxima for a use (indication, formulation) replace the default, the most specific one winning; maxima for an
    age band (children, adolescents, older adults) then cap it. Organ function narrows it further:
    ``crcl_ml_min`` (creatinine clearance, mL/min) and ``hepatic_impairment`` ("none", "mild", "moderate",
    "severe"; Child-Pugh A-C) apply the label's renal and hepatic limits, contraindications ("contraindicated")
    and avoid-use advice ("not_recommended"); unknown organ function (None) applies none of them. Drugs dosed by
    level or weight (lithium, valproate) have no fixed maximum. Besides the formulary, a few outside medications
    whose limits depend on organ function (gabapentin, pregabalin, paliperidone) are checked.
    """
    if (
        isinstance(daily_mg, bool)
        or not isinstance(daily_mg, int | float)
        or not math.isfinite(daily_mg)
        or daily_mg <= 0
    ):
        return DoseCheck("invalid", None, f"The daily dose must be a number greater than 0 mg (got {daily_mg!r}).")
    problem = _invalid_organ_input(crcl_ml_min, hepatic_impairment)
    if problem is not None:
        return DoseCheck("invalid", None, problem)
    found = _dose_entry(drug)
    if found is None:
        return DoseCheck("unknown_drug", None, f"{drug!r} is not in the formulary.")
    canonical, raw = found
    hepatic = _hepatic_grade(hepatic_impairment)
    crcl = float(crcl_ml_min) if crcl_ml_min is not None else None
    applicable = [r for r in raw.get("max_rules", []) if _rule_applies(r["when"], age, formulation, indication)]
    use_rule = _most_specific([r for r in applicable if not _AGE_KEYS & set(r["when"])])
    age_rule = _most_specific([r for r in applicable if _AGE_KEYS & set(r["when"])])
    limit: float | None = float(raw["max_daily_mg"]) if raw.get("max_daily_mg") is not None else None
    why = "label maximum"
    sources: list[str] = []
    if use_rule is not None:
        limit, why = float(use_rule["max"]), use_rule["why"]
    if age_rule is not None and (limit is None or age_rule["max"] < limit):
        limit, why = float(age_rule["max"]), age_rule["why"]
    organ = [
        r
        for r in raw.get("organ_rules", [])
        if _rule_applies(r["when"], age, formulation, indication, crcl=crcl, hepatic=hepatic)
    ]
    for rule in [use_rule, age_rule, *organ]:
        if rule is not None and rule["source"] not in sources:
            sources.append(rule["source"])
    cautions = tuple(r["why"] for r in organ if r["action"] == "caution")
    note = "".join(f" Caution: {text}." for text in cautions)
    stops = {action: [r for r in organ if r["action"] == action] for action in ("contraindicated", "not_recommended")}
    base = limit
    for rule in organ:
        if rule["action"] != "max":
            continue
        if "max_factor" in rule:
            if base is None:
                continue
            candidate = round(base * float(rule["max_factor"]), 3)
        else:
            candidate = float(rule["max"])
        if limit is None or candidate < limit:
            limit, why = candidate, rule["why"]
    # No dose of a contraindicated drug is acceptable; a not-recommended one keeps its limit for a justified use.
    for status, label in (("contraindicated", "is contraindicated"), ("not_recommended", "is not recommended")):
        if stops[status]:
            reasons = "; ".join(rule["why"] for rule in stops[status])
            kept = None if status == "contraindicated" else limit
            return DoseCheck(status, kept, f"{canonical} {label}: {reasons}.{note}", cautions, tuple(sources))
    if limit is None:
        review = raw.get("review_above_daily_mg")
        review_note = f" Doses above {review:g} mg/day need review of levels." if review and daily_mg > review else ""
        return DoseCheck(
            "ok",
            None,
            f"{canonical} {daily_mg:g} mg/day: {raw['max_reason']}.{review_note}{note}",
            cautions,
            tuple(sources),
        )
    if daily_mg > limit:
        return DoseCheck(
            "above_max",
            limit,
            f"{canonical} {daily_mg:g} mg/day is above the maximum of {limit:g} mg/day ({why}).{note}",
            cautions,
            tuple(sources),
        )
    return DoseCheck(
        "ok",
        limit,
        f"{canonical} {daily_mg:g} mg/day is within the maximum of {limit:g} mg/day ({why}).{note}",
        cautions,
        tuple(sources),
    )


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
