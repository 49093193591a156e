"""Dose maxima by indication, age band and organ function (issue 13, maxima)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clinical
from clinical._data import load

FORMULARY = [entry.name for entry in clinical.formulary()]


@pytest.mark.parametrize(
    ("dose", "kwargs", "status", "limit"),
    [
        # Paxil label (MPR summary; drugsdb; eMedTV): MDD/GAD/PTSD 50, OCD/panic/SAD 60, elderly 40, CR 62.5/75/37.5.
        (50, {}, "ok", 50),
        (60, {}, "above_max", 50),
        (60, {"indication": "ocd"}, "ok", 60),
        (60, {"indication": "Obsessive-compulsive disorder (F42.2)"}, "ok", 60),
        (60, {"indication": "Panic disorder [episodic paroxysmal anxiety] (F41.0)"}, "ok", 60),
        (60, {"indication": "Social phobia, generalized (F40.11)"}, "ok", 60),
        (60, {"indication": "Generalized anxiety disorder (F41.1)"}, "above_max", 50),
        (50, {"age": 65}, "above_max", 40),
        (60, {"age": 70, "indication": "ocd"}, "above_max", 40),
        (40, {"age": 64}, "ok", 50),
        (62.5, {"formulation": "CR"}, "ok", 62.5),
        (75, {"formulation": "CR", "indication": "panic_disorder"}, "ok", 75),
        (50, {"formulation": "CR", "indication": "social_anxiety_disorder"}, "above_max", 37.5),
        (50, {"formulation": "CR", "age": 80}, "ok", 50),
        (45, {"crcl_ml_min": 25}, "above_max", 40),
        (45, {"hepatic_impairment": "severe"}, "above_max", 40),
        (50, {"hepatic_impairment": "severe", "formulation": "CR"}, "ok", 50),
        (50, {"hepatic_impairment": "moderate"}, "ok", 50),
    ],
)
def test_paroxetine_maxima_follow_the_label(dose: float, kwargs: dict, status: str, limit: float) -> None:
    result = clinical.check_dose("paroxetine", dose, **kwargs)
    assert (result.status, result.max_daily_mg) == (status, limit)


@pytest.mark.parametrize(
    ("drug", "dose", "kwargs", "status", "limit"),
    [
        # Prozac label: pediatric MDD 20 mg/day, pediatric OCD up to 60 (adults 80).
        ("fluoxetine", 60, {"age": 15}, "ok", 60),
        ("fluoxetine", 80, {"age": 15}, "above_max", 60),
        ("fluoxetine", 40, {"age": 15, "indication": "Major depressive disorder (F32.2)"}, "above_max", 20),
        ("fluoxetine", 80, {"age": 30, "indication": "mdd"}, "ok", 80),
        # Luvox label: children 8-11 not above 200 mg/day; adolescents as adults (300).
        ("fluvoxamine", 250, {"age": 10}, "above_max", 200),
        ("fluvoxamine", 300, {"age": 14}, "ok", 300),
        # Texas VDP quetiapine table: bipolar mania 10-17 max 600.
        ("quetiapine", 700, {"age": 14, "indication": "bipolar_mania"}, "above_max", 600),
        ("quetiapine", 800, {"age": 30, "indication": "bipolar_mania"}, "ok", 800),
        # Risperdal label: 1-6 mg/day in children and adolescents (16 in adults); autism irritability up to 3.
        ("risperidone", 8, {"age": 16}, "above_max", 6),
        ("risperidone", 4, {"age": 9, "indication": "Autistic disorder (F84.0)"}, "above_max", 3),
        ("risperidone", 8, {"age": 30}, "ok", 16),
        # Abilify label: irritability with autism up to 15 mg/day.
        ("aripiprazole", 20, {"age": 12, "indication": "autism_irritability"}, "above_max", 15),
        # Latuda label: adolescents and children not above 80 mg/day.
        ("lurasidone", 120, {"age": 16}, "above_max", 80),
        # Concerta: 6-12 years max 54 mg/day; Adderall XR: 6-12 years max 30 mg/day.
        ("methylphenidate", 72, {"age": 10, "formulation": "ER"}, "above_max", 54),
        ("methylphenidate", 72, {"age": 15, "formulation": "ER"}, "ok", 72),
        ("amphetamine", 40, {"age": 9, "formulation": "XR"}, "above_max", 30),
        ("amphetamine", 40, {"age": 9}, "ok", 40),
    ],
)
def test_child_and_adolescent_maxima(drug: str, dose: float, kwargs: dict, status: str, limit: float) -> None:
    result = clinical.check_dose(drug, dose, **kwargs)
    assert (result.status, result.max_daily_mg) == (status, limit)
    if result.max_daily_mg != clinical.check_dose(drug, dose).max_daily_mg:
        assert result.sources, "an age-band maximum names its source"


@pytest.mark.parametrize(
    ("drug", "dose", "kwargs", "status", "limit"),
    [
        # Campral label: contraindicated at CrCl <= 30 mL/min; 30-50 mL/min 333 mg three times daily.
        ("acamprosate", 666, {"crcl_ml_min": 30}, "contraindicated", None),
        ("acamprosate", 666, {"crcl_ml_min": 12.5}, "contraindicated", None),
        ("acamprosate", 1998, {"crcl_ml_min": 30.5}, "above_max", 999),
        ("acamprosate", 999, {"crcl_ml_min": 50}, "ok", 999),
        ("acamprosate", 1998, {"crcl_ml_min": 51}, "ok", 1998),
        # Lithium PLR label: severe renal impairment not recommended; CrCl 30-89 start low (a caution).
        ("lithium", 900, {"crcl_ml_min": 29}, "not_recommended", None),
        ("lithium", 900, {"crcl_ml_min": 60}, "ok", None),
        # Cymbalta label: avoid at GFR < 30 and in chronic liver disease.
        ("duloxetine", 60, {"crcl_ml_min": 25}, "not_recommended", 120),
        ("duloxetine", 60, {"hepatic_impairment": "mild"}, "not_recommended", 120),
        ("duloxetine", 60, {"crcl_ml_min": 45, "hepatic_impairment": "none"}, "ok", 120),
        # Latuda label: CrCl < 50 or moderate hepatic impairment 80, severe hepatic impairment 40.
        ("lurasidone", 120, {"crcl_ml_min": 40}, "above_max", 80),
        ("lurasidone", 60, {"hepatic_impairment": "Child-Pugh C"}, "above_max", 40),
        # Citalopram: hepatic impairment max 20 (FDA 2011/2012); Lexapro label: 10 mg/day.
        ("citalopram", 40, {"hepatic_impairment": "mild"}, "above_max", 20),
        ("escitalopram", 20, {"hepatic_impairment": "moderate"}, "above_max", 10),
        # Effexor label: -50% in hepatic impairment, -25% mild-moderate renal, -50% severe renal.
        ("venlafaxine", 150, {"hepatic_impairment": "moderate"}, "above_max", 112.5),
        ("venlafaxine", 225, {"crcl_ml_min": 60}, "above_max", 168.75),
        ("venlafaxine", 150, {"crcl_ml_min": 20}, "above_max", 112.5),
        # Wellbutrin: moderate-severe hepatic impairment 150 mg every other day.
        ("bupropion", 150, {"hepatic_impairment": "severe"}, "above_max", 75),
        # Strattera: moderate hepatic 50%, severe 25%.
        ("atomoxetine", 80, {"hepatic_impairment": "moderate"}, "above_max", 50),
        ("atomoxetine", 25, {"hepatic_impairment": "severe"}, "ok", 25),
        # Depakote: contraindicated in hepatic disease; Klonopin: contraindicated in significant liver disease.
        ("divalproex", 1000, {"hepatic_impairment": "mild"}, "contraindicated", None),
        ("clonazepam", 1, {"hepatic_impairment": "moderate"}, "contraindicated", None),
        ("clonazepam", 1, {"hepatic_impairment": "mild"}, "ok", 4),
        # Buprenorphine/naloxone label: avoid in severe hepatic impairment.
        ("suboxone", 16, {"hepatic_impairment": "severe"}, "not_recommended", 24),
        # Adderall XR: severe renal impairment 20 mg/day, ESRD not recommended; Vyvanse: 50 and 30 mg/day.
        ("amphetamine", 30, {"crcl_ml_min": 20}, "above_max", 20),
        ("amphetamine", 10, {"crcl_ml_min": 10}, "not_recommended", 20),
        ("lisdexamfetamine", 70, {"crcl_ml_min": 20}, "above_max", 50),
        ("lisdexamfetamine", 40, {"crcl_ml_min": 10}, "above_max", 30),
    ],
)
def test_organ_function_limits(drug: str, dose: float, kwargs: dict, status: str, limit: float | None) -> None:
    result = clinical.check_dose(drug, dose, **kwargs)
    assert (result.status, result.max_daily_mg) == (status, limit)
    if status != "ok":
        assert result.sources, "every organ-function finding names its source"


def test_acamprosate_at_low_creatinine_clearance_is_no_longer_ok() -> None:
    """Issue 13: acamprosate at CrCl <= 30 returned "ok"; the Campral label contraindicates it."""
    result = clinical.check_dose("acamprosate", 666, crcl_ml_min=25)
    assert result.status == "contraindicated"
    assert "30 mL/min" in result.message and "Campral" in result.sources[0]


def test_renal_and_hepatic_cautions_do_not_block() -> None:
    lithium = clinical.check_dose("lithium carbonate", 900, crcl_ml_min=55)
    assert lithium.status == "ok" and any("titrate slowly" in caution for caution in lithium.cautions)
    assert "Caution:" in lithium.message
    risperidone = clinical.check_dose("risperidone", 2, hepatic_impairment="moderate")
    assert risperidone.status == "ok" and "0.5 mg twice daily" in risperidone.cautions[0]


@pytest.mark.parametrize(
    ("drug", "dose", "crcl", "status", "limit"),
    [
        # Neurontin renal table: >= 60 up to 3600; 30-59 1400; 15-29 700; < 15 300.
        ("gabapentin", 3600, 60, "ok", 3600),
        ("Neurontin", 1800, 45, "above_max", 1400),
        ("gabapentin", 700, 15, "ok", 700),
        ("gabapentin", 400, 10, "above_max", 300),
        # Lyrica renal table: 600 / 300 / 150 / 75.
        ("pregabalin", 600, None, "ok", 600),
        ("Lyrica", 300, 30, "above_max", 150),
        ("pregabalin", 100, 12, "above_max", 75),
        # Invega renal dosing: CrCl 50 to < 80 max 6; 10 to < 50 max 3; < 10 not recommended.
        ("paliperidone", 9, 70, "above_max", 6),
        ("invega", 3, 30, "ok", 3),
        ("paliperidone", 3, 8, "not_recommended", 3),
    ],
)
def test_outside_medications_with_renal_limits(
    drug: str, dose: float, crcl: float | None, status: str, limit: float
) -> None:
    result = clinical.check_dose(drug, dose, crcl_ml_min=crcl)
    assert (result.status, result.max_daily_mg) == (status, limit)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"crcl_ml_min": -1},
        {"crcl_ml_min": float("nan")},
        {"crcl_ml_min": "45"},
        {"crcl_ml_min": True},
        {"hepatic_impairment": "terrible"},
        {"hepatic_impairment": 2},
    ],
)
def test_invalid_organ_function_is_refused(kwargs: dict) -> None:
    assert clinical.check_dose("sertraline", 50, **kwargs).status == "invalid"


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(FORMULARY),
    st.floats(min_value=0.5, max_value=5000),
    st.one_of(st.none(), st.floats(min_value=0, max_value=150)),
    st.sampled_from([None, *clinical.HEPATIC_GRADES]),
    st.one_of(st.none(), st.integers(min_value=4, max_value=95)),
)
def test_organ_function_never_loosens_a_limit(
    drug: str, dose: float, crcl: float | None, hepatic: str | None, age: int | None
) -> None:
    """Unknown organ function is today's check; known organ function can only narrow it."""
    plain = clinical.check_dose(drug, dose, age=age)
    assert plain.status in ("ok", "above_max") and not plain.cautions
    assert plain == clinical.check_dose(drug, dose, age=age, crcl_ml_min=None, hepatic_impairment=None)
    organ = clinical.check_dose(drug, dose, age=age, crcl_ml_min=crcl, hepatic_impairment=hepatic)
    if plain.status == "above_max":
        assert organ.status != "ok"
    if plain.max_daily_mg is not None and organ.max_daily_mg is not None:
        assert organ.max_daily_mg <= plain.max_daily_mg
    if organ.status in ("ok", "above_max") and organ.max_daily_mg is not None:
        assert organ.status == ("above_max" if dose > organ.max_daily_mg else "ok")


def test_every_dose_rule_is_sourced_and_well_formed() -> None:
    actions = {"max", "contraindicated", "not_recommended", "caution"}
    conditions = {"age_over", "age_under", "formulation", "formulation_not", "indication"}
    organ_conditions = conditions | {"crcl_below", "crcl_at_most", "crcl_above", "crcl_at_least", "hepatic"}
    phrases = load("dose_limits")["indication_phrases"]
    entries = [*load("formulary")["drugs"], *load("dose_limits")["outside_medications"].values()]
    for raw in entries:
        for rule in raw["max_rules"]:
            assert set(rule["when"]) <= conditions and rule["max"] > 0 and rule["why"] and rule["source"], rule
        for rule in raw.get("organ_rules", []):
            assert set(rule["when"]) <= organ_conditions and rule["action"] in actions, rule
            assert rule["why"] and rule["source"] and rule["verification"], rule
            assert set(rule["when"].get("hepatic", [])) <= set(clinical.HEPATIC_GRADES) - {"none"}
            if rule["action"] == "max":
                assert (rule.get("max", 0) > 0) != (0 < rule.get("max_factor", 0) < 1), rule
        for rule in raw["max_rules"]:
            key = rule["when"].get("indication")
            assert key is None or key in phrases or "_" in key or key.isalpha(), key
    for name in load("dose_limits")["outside_medications"]:
        assert clinical.resolve_medication(name) == name and clinical.resolve_drug(name) is None, name
