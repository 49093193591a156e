"""Formulary look-ups, name resolution, schedules and the dose check (with property-based tests)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clinical

REFERENCE_DRUG_COUNT = 36


def test_formulary_has_every_reference_drug_sorted() -> None:
    names = [entry.name for entry in clinical.formulary()]
    assert len(names) == REFERENCE_DRUG_COUNT and names == sorted(names)


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("Lithium Carbonate", "lithium"),
        ("lithium", "lithium"),
        ("divalproex", "valproate"),
        ("Divalproex Sodium", "valproate"),
        ("valproic acid", "valproate"),
        ("buprenorphine/naloxone", "buprenorphine/naloxone"),
        ("Buprenorphine-Naloxone", "buprenorphine/naloxone"),
        ("Suboxone", "buprenorphine/naloxone"),
        ("bupropion XL", "bupropion"),
        ("  SERTRALINE ", "sertraline"),
        ("Adderall", "amphetamine"),
        ("unobtainium", None),
        ("", None),
    ],
)
def test_resolve_drug(name: str, canonical: str | None) -> None:
    assert clinical.resolve_drug(name) == canonical


@pytest.mark.parametrize(
    ("drug", "schedule"),
    [
        ("methylphenidate", "II"),
        ("amphetamine", "II"),
        ("lisdexamfetamine", "II"),
        ("buprenorphine/naloxone", "III"),
        ("lorazepam", "IV"),
        ("clonazepam", "IV"),
        ("alprazolam", "IV"),
        ("sertraline", None),
        ("clozapine", None),
        ("not a drug", None),
    ],
)
def test_drug_schedule(drug: str, schedule: str | None) -> None:
    assert clinical.drug_schedule(drug) == schedule


@pytest.mark.parametrize(
    ("drug", "dose", "kwargs", "status", "limit"),
    [
        ("sertraline", 200, {}, "ok", 200),
        ("sertraline", 200.5, {}, "above_max", 200),
        ("citalopram", 40, {"age": 60}, "ok", 40),
        ("citalopram", 40, {"age": 61}, "above_max", 20),
        ("citalopram", 20, {"age": 75}, "ok", 20),
        ("bupropion", 450, {}, "ok", 450),
        ("bupropion", 450, {"formulation": "SR"}, "above_max", 400),
        ("aripiprazole", 30, {}, "ok", 30),
        ("aripiprazole", 20, {"indication": "mdd_adjunct"}, "above_max", 15),
        ("alprazolam", 6, {}, "above_max", 4),
        ("alprazolam", 6, {"indication": "panic_disorder"}, "ok", 10),
        ("quetiapine", 800, {}, "ok", 800),
        ("quetiapine", 400, {"indication": "bipolar_depression"}, "above_max", 300),
        ("lamotrigine", 150, {"indication": "bipolar_with_valproate"}, "above_max", 100),
        ("clonazepam", 500, {}, "above_max", 4),
    ],
)
def test_check_dose_applies_the_right_maximum(drug: str, dose: float, kwargs: dict, status: str, limit: float) -> None:
    result = clinical.check_dose(drug, dose, **kwargs)
    assert (result.status, result.max_daily_mg) == (status, limit)
    assert drug in result.message and f"{limit:g}" in result.message


def test_level_guided_drugs_have_no_fixed_maximum() -> None:
    result = clinical.check_dose("lithium carbonate", 2400)
    assert (result.status, result.max_daily_mg) == ("ok", None)
    assert "1800" in result.message and "level" in result.message
    assert clinical.check_dose("divalproex", 1500).max_daily_mg is None


@pytest.mark.parametrize("dose", [0, -10, float("nan"), float("inf"), "100", None, True])
def test_invalid_doses(dose: object) -> None:
    assert clinical.check_dose("sertraline", dose).status == "invalid"  # type: ignore[arg-type]


def test_unknown_drug() -> None:
    assert clinical.check_dose("unobtainium", 10).status == "unknown_drug"


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([entry.name for entry in clinical.formulary()]),
    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-1000, 100_000)),
)
def test_dose_check_is_never_wrong(drug: str, dose: float) -> None:
    result = clinical.check_dose(drug, dose)
    if not math.isfinite(dose) or dose <= 0:
        assert result.status == "invalid"
    elif result.max_daily_mg is not None:
        assert result.status == ("above_max" if dose > result.max_daily_mg else "ok")
    else:
        assert result.status == "ok" and clinical.formulary_entry(drug).max_reason


@pytest.mark.parametrize(
    ("dose", "unit", "frequency", "daily"),
    [
        (50, "mg", "once daily", 50),
        (300, "mg", "twice daily", 600),
        (0.5, "mg", "three times daily", 1.5),
        (500, "mcg", "once daily", 0.5),
        (1, "g", "twice daily", 2000),
        (25, "mg", "as needed", 100),
    ],
)
def test_daily_dose(dose: float, unit: str, frequency: str, daily: float) -> None:
    assert clinical.daily_dose_mg(dose, unit, frequency) == daily


@pytest.mark.parametrize(
    ("dose", "unit", "frequency"),
    [(1, "tablet", "once daily"), (1, "mg", "hourly"), (-1, "mg", "once daily"), (0, "mg", "once daily")],
)
def test_daily_dose_rejects_unknown_units_and_codes(dose: float, unit: str, frequency: str) -> None:
    with pytest.raises(ValueError):
        clinical.daily_dose_mg(dose, unit, frequency)


def test_allergy_matches() -> None:
    assert clinical.allergy_matches("lamotrigine", ["Lamictal", "penicillin"]) == ["Lamictal"]
    assert clinical.allergy_matches("lamotrigine", ["carbamazepine"]) == ["carbamazepine"]  # aromatic anticonvulsants
    assert clinical.allergy_matches("sertraline", ["sulfa", "penicillin"]) == []
    # Outside the formulary (an outside medication being onboarded): the same name matches, nothing else.
    assert clinical.allergy_matches("Phenelzine", ["phenelzine ", "penicillin"]) == ["phenelzine "]
    assert clinical.allergy_matches("phenelzine", ["sertraline", ""]) == []


def test_entries_carry_codes_ladders_and_flags() -> None:
    lithium = clinical.formulary_entry("lithium")
    assert lithium.has_level and lithium.rxnorm == "6448" and "tremor" in lithium.red_flag_side_effects
    quetiapine = clinical.formulary_entry("quetiapine")
    assert quetiapine.is_antipsychotic and not quetiapine.is_antidepressant
    for entry in clinical.formulary():
        assert entry.common_daily_doses_mg, entry.name
        if entry.max_daily_mg is not None:
            assert max(entry.common_daily_doses_mg) <= entry.max_daily_mg, entry.name
