"""Monitoring schedules, lab interpretation and therapeutic levels."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

import clinical

DAY = date(2026, 11, 20)


def _tests(labs: list[clinical.LabDue]) -> dict[str, date]:
    return {lab.test: lab.due_by for lab in labs}


def test_lithium_start_orders_baseline_and_a_level_after_a_week() -> None:
    due = _tests(clinical.monitoring_labs("lithium carbonate", "start", on=DAY, sex="male"))
    assert due == {"Creatinine": DAY, "TSH": DAY, "Calcium": DAY, "Lithium level": DAY + timedelta(days=7)}
    # Unknown sex errs on the safe side: the lithium label asks for pregnancy status before starting.
    assert _tests(clinical.monitoring_labs("lithium", "start", on=DAY))["Pregnancy test"] == DAY


def test_lithium_level_after_each_dose_change() -> None:
    [lab] = clinical.monitoring_labs("lithium", "dose_change", on=DAY)
    assert (lab.test, lab.due_by, lab.loinc) == ("Lithium level", DAY + timedelta(days=7), "14334-7")
    assert "dose change" in lab.reason


@pytest.mark.parametrize(
    ("weeks", "interval"), [(0, 7), (10, 7), (25, 7), (26, 14), (40, 14), (51, 14), (52, 28), (120, 28)]
)
def test_clozapine_anc_by_month_of_treatment(weeks: int, interval: int) -> None:
    anc = [
        lab
        for lab in clinical.monitoring_labs("clozapine", "maintenance", on=DAY, weeks_on_treatment=weeks)
        if lab.test == "ANC"
    ]
    assert len(anc) == 1
    start = DAY - timedelta(weeks=weeks)
    assert 0 < (anc[0].due_by - DAY).days <= interval
    assert (anc[0].due_by - start).days % interval == 0 or weeks >= 52


def test_antipsychotic_metabolic_monitoring_and_configurable_lipids() -> None:
    started = clinical.monitoring_labs("quetiapine", "start", on=DAY)
    assert [lab.due_by for lab in started if lab.test == "Lipid panel"] == [DAY, DAY + timedelta(days=84)]
    assert [lab.due_by for lab in started if lab.test == "Fasting glucose"] == [DAY, DAY + timedelta(days=84)]
    apa = clinical.monitoring_labs("quetiapine", "start", on=DAY, lipid_interval="apa_2020")
    assert [lab.due_by for lab in apa if lab.test == "Lipid panel"] == [DAY, DAY + timedelta(days=112)]
    ada_later = _tests(clinical.monitoring_labs("olanzapine", "maintenance", on=DAY, weeks_on_treatment=20))
    apa_later = _tests(
        clinical.monitoring_labs("olanzapine", "maintenance", on=DAY, weeks_on_treatment=20, lipid_interval="apa_2020")
    )
    assert (ada_later["Lipid panel"] - DAY).days > 4 * 365 and (apa_later["Lipid panel"] - DAY).days < 365
    with pytest.raises(ValueError):
        clinical.monitoring_labs("quetiapine", "start", on=DAY, lipid_interval="yearly")


def test_carbamazepine_hla_test_only_for_at_risk_ancestry() -> None:
    assert "HLA-B*1502" in _tests(clinical.monitoring_labs("carbamazepine", "start", on=DAY, ancestry="Han Chinese"))
    assert "HLA-B*1502" not in _tests(clinical.monitoring_labs("carbamazepine", "start", on=DAY, ancestry="European"))
    assert "HLA-B*1502" not in _tests(clinical.monitoring_labs("carbamazepine", "start", on=DAY))


# FDA alert 2007 and carbamazepine boxed warning: HLA-B*1502 occurs almost exclusively in people with ancestry
# across broad areas of Asia, including South Asian Indians; screen most patients of Asian ancestry.
AT_RISK_ANCESTRIES = [
    "Asian",
    "East Asian",
    "South Asian",
    "Southeast Asian",
    "Han Chinese",
    "Chinese",
    "Chinese-American",
    "Hong Kong",
    "Taiwanese",
    "Thai",
    "Malaysian",
    "Malay",
    "Filipino",
    "Indonesian",
    "Vietnamese",
    "Cambodian",
    "Hmong",
    "Singaporean",
    "Indian",
    "Asian Indian",
    "Pakistani",
    "Bangladeshi",
    "Sri Lankan",
    "Nepali",
    "Japanese",
    "Korean",
    "White/Filipino",
    "mixed: Thai and Irish",
]
NOT_AT_RISK_ANCESTRIES = [
    "Caucasian",
    "European",
    "White",
    "Black",
    "African American",
    "Hispanic",
    "American Indian",
    "American Indian or Alaska Native",
    "Native American",
    "West Indian",
    "Middle Eastern",
    "",
    "   ",
    None,
]


@pytest.mark.parametrize("ancestry", AT_RISK_ANCESTRIES)
def test_hla_b1502_test_is_ordered_for_every_asian_ancestry(ancestry: str) -> None:
    assert clinical.at_risk_ancestry(ancestry)
    assert "HLA-B*1502" in _tests(clinical.monitoring_labs("carbamazepine", "start", on=DAY, ancestry=ancestry))


@pytest.mark.parametrize("ancestry", NOT_AT_RISK_ANCESTRIES)
def test_hla_b1502_test_is_not_ordered_by_substring(ancestry: str | None) -> None:
    # "Caucasian" contains "asian" and "American Indian" contains "Indian": whole words and phrases only.
    assert not clinical.at_risk_ancestry(ancestry)
    assert "HLA-B*1502" not in _tests(clinical.monitoring_labs("carbamazepine", "start", on=DAY, ancestry=ancestry))


def test_mixed_ancestry_with_an_asian_part_is_at_risk() -> None:
    assert clinical.at_risk_ancestry("American Indian and Korean")


def test_no_rules_unknown_drug_and_bad_events() -> None:
    assert clinical.monitoring_labs("sertraline", "start", on=DAY) == []
    with pytest.raises(ValueError):
        clinical.monitoring_labs("unobtainium", "start", on=DAY)
    with pytest.raises(ValueError):
        clinical.monitoring_labs("lithium", "restart", on=DAY)
    with pytest.raises(ValueError):
        clinical.monitoring_labs("lithium", "maintenance", on=DAY)


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (0.59, "below_range"),
        (0.6, "in_range"),
        (1.2, "in_range"),
        (1.21, "above_range"),
        (1.49, "above_range"),
        (1.5, "toxic"),
        (2.5, "toxic"),
    ],
)
def test_lithium_level_boundaries(value: float, status: str) -> None:
    result = clinical.check_level("lithium", value)
    assert (result.status, result.range) == (status, (0.6, 1.2))


def test_levels_for_other_drugs_and_errors() -> None:
    assert clinical.check_level("divalproex", 80).status == "in_range"
    assert clinical.check_level("carbamazepine", 13).status == "above_range"
    with pytest.raises(ValueError):
        clinical.check_level("sertraline", 1)
    with pytest.raises(ValueError):
        clinical.check_level("lithium", float("nan"))


@pytest.mark.parametrize(
    ("test", "value", "low", "high", "interpretation", "critical"),
    [
        ("TSH", 2.0, 0.4, 4.5, "normal", False),
        ("TSH", 4.6, 0.4, 4.5, "high", False),
        ("TSH", 0.3, 0.4, 4.5, "low", False),
        ("Lithium level", 1.6, 0.6, 1.2, "critical high", True),
        ("ANC", 0.4, None, None, "critical low", True),
        ("ANC", 1.2, None, None, "low", False),
        ("Sodium", 119, 135, 145, "critical low", True),
    ],
)
def test_classify_lab_result(
    test: str, value: float, low: float | None, high: float | None, interpretation: str, critical: bool
) -> None:
    result = clinical.classify_lab_result(test, value, ref_low=low, ref_high=high)
    assert (result.interpretation, result.critical, result.abnormal) == (
        interpretation,
        critical,
        interpretation != "normal",
    )
