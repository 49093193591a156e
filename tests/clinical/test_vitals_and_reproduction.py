"""Vital signs in monitoring, BMI, weight gain, pregnancy tests and reproductive safety (issue 13)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

import clinical

DAY = date(2026, 11, 20)


def _by_kind(labs: list[clinical.LabDue], kind: str) -> list[tuple[str, int]]:
    return [(lab.test, (lab.due_by - DAY).days) for lab in labs if lab.kind == kind]


def test_antipsychotic_start_schedules_ada_apa_2004_vitals() -> None:
    """ADA/APA 2004: weight/BMI at 0, 4, 8 and 12 weeks; waist circumference and blood pressure at baseline;
    blood pressure again at 12 weeks."""
    due = clinical.monitoring_labs("quetiapine", "start", on=DAY, include_vitals=True)
    vitals = _by_kind(due, "vital")
    assert [days for test, days in vitals if test == "Weight"] == [0, 28, 56, 84]
    assert [days for test, days in vitals if test == "BMI"] == [0, 28, 56, 84]
    assert [days for test, days in vitals if test == "Blood pressure"] == [0, 84]
    assert [days for test, days in vitals if test == "Waist circumference"] == [0]
    codes = {lab.test: lab.loinc for lab in due if lab.kind == "vital"}
    assert codes == {
        "Weight": "29463-7",
        "BMI": "39156-5",
        "Blood pressure": "85354-9",
        "Waist circumference": "8280-0",
    }
    assert ("Fasting glucose", 0) in _by_kind(due, "lab") and ("Lipid panel", 84) in _by_kind(due, "lab")


def test_antipsychotic_maintenance_vitals_quarterly_weight_annual_bp_and_waist() -> None:
    later = clinical.monitoring_labs("olanzapine", "maintenance", on=DAY, weeks_on_treatment=20, include_vitals=True)
    start = DAY - timedelta(weeks=20)
    due = {lab.test: (lab.due_by - start).days for lab in later if lab.kind == "vital"}
    assert due == {"Weight": 84 + 91, "BMI": 84 + 91, "Blood pressure": 84 + 365, "Waist circumference": 365}


def test_vitals_only_when_asked_so_lab_callers_keep_ordering_labs() -> None:
    labs = clinical.monitoring_labs("quetiapine", "start", on=DAY)
    assert labs and all(lab.kind == "lab" for lab in labs)
    assert {lab.kind for lab in clinical.monitoring_labs("quetiapine", "start", on=DAY, include_vitals=True)} == {
        "lab",
        "vital",
    }


@pytest.mark.parametrize(
    ("drug", "vitals"),
    [
        ("methylphenidate", {"Blood pressure", "Heart rate", "Weight"}),
        ("venlafaxine", {"Blood pressure"}),
        ("atomoxetine", {"Blood pressure", "Heart rate"}),
        ("lithium", {"Weight", "BMI"}),
        ("mirtazapine", {"Weight"}),
        ("sertraline", set()),
    ],
)
def test_drug_specific_vitals_at_start(drug: str, vitals: set[str]) -> None:
    due = clinical.monitoring_labs(drug, "start", on=DAY, sex="male", include_vitals=True)
    assert {lab.test for lab in due if lab.kind == "vital"} == vitals


@pytest.mark.parametrize(
    ("sex", "age", "pregnant", "tested"),
    [
        (None, None, None, True),  # unknown sex and age: safe side
        ("female", 25, None, True),  # the valproate in a 25-year-old woman
        ("F", 25, False, True),  # a reported "not pregnant" is not a negative test
        ("female", 25, True, False),  # pregnancy known: reproductive_safety speaks instead
        ("male", None, None, False),
        ("female", 70, None, False),
        ("female", 8, None, False),
        (None, 30, None, True),
        ("other", 40, None, True),
    ],
)
def test_pregnancy_test_before_valproate(sex: str | None, age: int | None, pregnant: bool | None, tested: bool) -> None:
    due = clinical.monitoring_labs("divalproex", "start", on=DAY, sex=sex, age=age, pregnant=pregnant)
    assert ("Pregnancy test" in {lab.test for lab in due}) is tested
    if tested:
        [test] = [lab for lab in due if lab.test == "Pregnancy test"]
        assert (test.loinc, test.due_by, test.kind) == ("2106-3", DAY, "lab")


@pytest.mark.parametrize("drug", ["carbamazepine", "lithium", "paroxetine", "buprenorphine/naloxone"])
def test_pregnancy_test_before_other_teratogens(drug: str) -> None:
    assert "Pregnancy test" in {lab.test for lab in clinical.monitoring_labs(drug, "start", on=DAY, age=30)}
    assert "Pregnancy test" not in {lab.test for lab in clinical.monitoring_labs(drug, "start", on=DAY, sex="M")}


def test_monitoring_rejects_bad_patient_values() -> None:
    with pytest.raises(ValueError):
        clinical.monitoring_labs("lithium", "start", on=DAY, age=-1)
    with pytest.raises(ValueError):
        clinical.monitoring_labs("lithium", "start", on=DAY, pregnant="yes")  # type: ignore[arg-type]


def test_bmi() -> None:
    assert clinical.bmi(70, 175) == 22.9
    assert clinical.bmi(100.5, 160) == 39.3
    for weight, height in ((70, 1.75), (0, 170), (float("nan"), 170), (True, 170), (70, "175")):
        with pytest.raises(ValueError):
            clinical.bmi(weight, height)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("drugs", "baseline", "current", "flagged"),
    [
        ("quetiapine", 80, 84, True),  # exactly 5 %: ADA/APA 2004 threshold reached
        ("quetiapine", 80, 83.9, False),
        (["sertraline", "lithium carbonate"], 60, 64, True),  # mood stabilizer counts
        (["sertraline", "bupropion"], 60, 70, False),  # neither an antipsychotic nor a mood stabilizer
        ("haloperidol", 70, 80, True),  # an outside antipsychotic counts too
        ("olanzapine", 80, 70, False),  # weight loss
    ],
)
def test_weight_gain_flag(drugs: str | list[str], baseline: float, current: float, flagged: bool) -> None:
    finding = clinical.flag_for_weight_gain(drugs, baseline, current)
    assert (finding is not None) is flagged
    if finding is not None:
        assert (finding.kind, finding.severity, finding.cause) == ("weight_gain", "moderate", "weight_gain")
        assert f"{(current - baseline) / baseline * 100:.1f}%" in finding.summary


def test_weight_gain_rejects_bad_weights() -> None:
    for baseline, current in ((0, 80), (80, -1), (float("inf"), 80), (None, 80)):
        with pytest.raises(ValueError):
            clinical.flag_for_weight_gain("quetiapine", baseline, current)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "ben", "interpretation", "critical"),
    [
        # Clozaril label, general population: mild 1000-1499 continue; moderate 500-999 interrupt; severe < 500.
        (1.6, False, "normal", False),
        (1.2, False, "low", False),
        (0.9, False, "critical low", True),
        (0.5, False, "critical low", True),
        (0.3, False, "critical low", True),
        # Benign ethnic neutropenia: >= 1000 normal; 500-999 continue with ANC 3x weekly; < 500 interrupt.
        (1.2, True, "normal", False),
        (1.0, True, "normal", False),
        (0.7, True, "low", False),
        (0.4, True, "critical low", True),
    ],
)
def test_anc_grades_follow_the_clozapine_label(value: float, ben: bool, interpretation: str, critical: bool) -> None:
    result = clinical.classify_lab_result("ANC", value, benign_ethnic_neutropenia=ben)
    assert (result.interpretation, result.critical) == (interpretation, critical)
    finding = clinical.flag_for_lab_result("ANC", value, benign_ethnic_neutropenia=ben)
    expected = None if interpretation == "normal" else ("urgent" if critical else "high")
    assert (finding.severity if finding else None) == expected


def test_anc_messages_name_the_action() -> None:
    moderate = clinical.classify_lab_result("ANC", 0.8)
    assert "interrupt" in moderate.action and "800/uL" in moderate.message
    ben = clinical.classify_lab_result("ANC", 0.8, benign_ethnic_neutropenia=True)
    assert "continue" in ben.action and "three times weekly" in ben.action
    # A BEN patient's count above 1000/uL is normal even when the lab reports a higher lower limit.
    assert clinical.classify_lab_result("ANC", 1.3, ref_low=1.8, benign_ethnic_neutropenia=True).abnormal is False
    assert clinical.classify_lab_result("ANC", 1.3, ref_low=1.8).interpretation == "low"
    assert clinical.classify_lab_result("TSH", 9.0, benign_ethnic_neutropenia=True).interpretation == "high"


def _kinds(findings: list[clinical.ReproductiveFinding]) -> dict[str, tuple[str, str]]:
    return {f.kind: (f.severity, f.certainty) for f in findings}


def test_valproate_in_a_25_year_old_woman() -> None:
    """The issue's example: a woman of 25 on valproate gets the pregnancy prevention programme."""
    findings = clinical.reproductive_safety("valproate", sex="female", age=25, pregnant=False)
    assert _kinds(findings) == {"pregnancy_prevention": ("major", "known")}
    assert findings[0].sources and "MHRA" in findings[0].sources[0]
    pregnant = clinical.reproductive_safety("Depakote", sex="female", age=25, pregnant=True)
    assert pregnant[0].kind == "boxed_warning" and pregnant[0].severity == "contraindicated"
    assert pregnant[0].certainty == "known"


def test_unknown_sex_and_age_are_treated_as_possible() -> None:
    findings = clinical.reproductive_safety("valproate", sex=None, age=None)
    assert _kinds(findings) == {
        "boxed_warning": ("contraindicated", "possible"),
        "pregnancy_prevention": ("major", "possible"),
        "paternal": ("moderate", "possible"),
    }
    assert [f.severity for f in findings] == ["contraindicated", "major", "moderate"]  # most severe first
    assert all("not recorded" in f.summary for f in findings)


def test_men_get_only_the_paternal_finding() -> None:
    assert _kinds(clinical.reproductive_safety("valproate", sex="male", age=30)) == {"paternal": ("moderate", "known")}
    assert clinical.reproductive_safety("lithium", sex="M", age=30) == []


@pytest.mark.parametrize(
    ("drug", "kind", "severity"),
    [
        ("carbamazepine", "teratogen", "major"),
        ("lithium", "teratogen", "major"),  # Ebstein's anomaly
        ("topiramate", "teratogen", "major"),  # an outside medication
        ("paroxetine", "teratogen", "major"),  # first-trimester cardiac malformations
        ("hydroxyzine", "pregnancy", "contraindicated"),
        ("olanzapine", "pregnancy", "moderate"),  # antipsychotic class: neonatal EPS/withdrawal
        ("sertraline", "pregnancy", "moderate"),  # SSRI class
        ("clonazepam", "pregnancy", "moderate"),  # benzodiazepine class
    ],
)
def test_pregnancy_findings(drug: str, kind: str, severity: str) -> None:
    findings = clinical.reproductive_safety(drug, sex="female", age=30, pregnant=True)
    assert (kind, severity, "known") in {(f.kind, f.severity, f.certainty) for f in findings}
    assert all(f.sources and f.verification for f in findings)


def test_lactation_findings() -> None:
    assert ("lactation", "major") in {
        (f.kind, f.severity) for f in clinical.reproductive_safety("lithium", sex="female", age=30, lactating=True)
    }
    assert _kinds(clinical.reproductive_safety("clozapine", sex="female", age=30, pregnant=False, lactating=True))[
        "lactation"
    ] == ("major", "known")
    no_milk = clinical.reproductive_safety("clozapine", sex="female", age=30, pregnant=False, lactating=False)
    assert "lactation" not in _kinds(no_milk)


def test_reproductive_safety_outside_the_window_and_unknown_drugs() -> None:
    assert clinical.reproductive_safety("topiramate", sex="female", age=70) == []
    assert clinical.reproductive_safety("buspirone", sex="female", age=30, pregnant=True) == []
    [unknown] = clinical.reproductive_safety("unobtainium", sex="female", age=30)
    assert (unknown.kind, unknown.severity) == ("not_checked", "unknown")
    with pytest.raises(ValueError):
        clinical.reproductive_safety("lithium", sex="female", age=30, pregnant="no")  # type: ignore[arg-type]
