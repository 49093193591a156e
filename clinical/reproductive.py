"""Reproductive safety of a medication for one patient: pregnancy, pregnancy prevention, lactation, paternal risk.

Sex, age, pregnancy and lactation are inputs; whatever is unknown is treated as possible, so a patient whose sex
is not recorded gets the pregnancy findings (marked "possible") rather than none.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from clinical._data import load
from clinical.medications import classify_medication

SEVERITIES: tuple[str, ...] = ("contraindicated", "major", "moderate", "minor", "unknown")
SEXES: tuple[str, ...] = ("female", "male")
_SEX_WORDS = {"female": "female", "f": "female", "woman": "female", "male": "male", "m": "male", "man": "male"}
# Drug classes with class-wide reproductive findings, and the medication classes (drugs.json) that belong to them.
_CLASS_MEMBERS = {
    "antipsychotic": {"antipsychotic"},
    "ssri_snri": {"SSRI", "SNRI"},
    "benzodiazepine": {"benzodiazepine"},
}


@dataclass(frozen=True)
class ReproductiveFinding:
    drug: str
    kind: str  # "boxed_warning", "pregnancy_prevention", "teratogen", "pregnancy", "lactation", "paternal", ...
    severity: str  # "contraindicated", "major", "moderate", "minor"; "unknown" when the drug is not known
    certainty: str  # "known": the patient's recorded status; "possible": sex, age, pregnancy or lactation unknown
    summary: str
    advice: str
    sources: tuple[str, ...]
    verification: str


@cache
def _data() -> dict[str, Any]:
    data: dict[str, Any] = load("reproductive")
    return data


def normalise_sex(sex: str | None) -> str | None:
    """ "female" or "male" from common spellings ("F", "Woman"); None when unknown or anything else."""
    if not isinstance(sex, str):
        return None
    return _SEX_WORDS.get(sex.strip().lower())


def _check_inputs(age: int | None, pregnant: bool | None, lactating: bool | None) -> None:
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or age < 0):
        raise ValueError(f"age must be a whole number of years >= 0 or None, got {age!r}")
    for name, value in (("pregnant", pregnant), ("lactating", lactating)):
        if value is not None and not isinstance(value, bool):
            raise ValueError(f"{name} must be True, False or None, got {value!r}")


def could_be_pregnant(sex: str | None, age: int | None) -> bool:
    """Whether the patient may be able to become pregnant: not recorded as male and of reproductive age or of
    unknown age (program range in reproductive.json, 12-55 years)."""
    if normalise_sex(sex) == "male":
        return False
    window = _data()["reproductive_potential"]
    return age is None or window["age_from"] <= age <= window["age_to"]


def _certainty(
    applies: str, sex: str | None, age: int | None, pregnant: bool | None, lactating: bool | None
) -> str | None:
    """ "known", "possible", or None when the finding does not apply to this patient."""
    recorded_sex = normalise_sex(sex)
    possible_pregnancy = could_be_pregnant(sex, age)
    if applies == "pregnancy":
        if pregnant is True:
            return "known"
        return "possible" if pregnant is None and possible_pregnancy else None
    if applies == "reproductive_potential":
        if pregnant is True or not possible_pregnancy:
            return None
        return "known" if recorded_sex == "female" and age is not None else "possible"
    if applies == "lactation":
        if lactating is True:
            return "known"
        return "possible" if lactating is None and possible_pregnancy else None
    if applies == "male":
        if recorded_sex == "male":
            return "known"
        return "possible" if recorded_sex is None else None
    raise ValueError(f"unknown 'applies' value in reproductive.json: {applies!r}")


def _entries_for(canonical: str, classes: tuple[str, ...], ingredients: tuple[str, ...]) -> list[dict[str, Any]]:
    data = _data()
    entries: list[dict[str, Any]] = []
    for name in dict.fromkeys((canonical, *ingredients)):
        entries.extend(data["drugs"].get(name, []))
    for group, members in _CLASS_MEMBERS.items():
        if members & set(classes):
            entries.extend(data["classes"][group])
    return entries


def reproductive_safety(
    drug: str,
    *,
    sex: str | None,
    age: int | None,
    pregnant: bool | None = None,
    lactating: bool | None = None,
) -> list[ReproductiveFinding]:
    """Reproductive findings for ``drug`` in this patient, most severe first.

    Each finding is "known" when the patient's recorded sex, age, pregnancy or lactation make it apply and
    "possible" when one of them is unknown; possible findings of minor severity are left out. A drug that is not
    known returns one "not checked" finding rather than nothing. ValueError for an age, pregnancy or lactation
    value of the wrong type."""
    _check_inputs(age, pregnant, lactating)
    profile = classify_medication(drug) if isinstance(drug, str) and drug.strip() else None
    if profile is None:
        return [
            ReproductiveFinding(
                str(drug),
                "not_checked",
                "unknown",
                "possible",
                f"{drug!r} is not a known medication: its reproductive safety was not checked.",
                "Check the label for pregnancy, lactation and contraception advice.",
                (),
                "",
            )
        ]
    sources = _data()["sources"]
    findings: list[ReproductiveFinding] = []
    for entry in _entries_for(profile.name, profile.classes, profile.ingredients):
        certainty = _certainty(entry["applies"], sex, age, pregnant, lactating)
        if certainty is None or (certainty == "possible" and entry["severity"] == "minor"):
            continue
        summary = entry["summary"] if certainty == "known" else f"{entry['summary']} (status not recorded)"
        findings.append(
            ReproductiveFinding(
                profile.name,
                entry["kind"],
                entry["severity"],
                certainty,
                summary,
                entry["advice"],
                tuple(sources[key] for key in entry["sources"]),
                entry["verification"],
            )
        )
    return sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), f.certainty != "known", f.kind))
