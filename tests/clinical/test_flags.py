"""The flag rules as functions of plain values: each finding, its severity and its cause key."""

from __future__ import annotations

from datetime import date

import pytest

import clinical


def test_self_harm_and_worsening() -> None:
    score = clinical.score_instrument("PHQ-9", [2, 2, 2, 2, 2, 2, 2, 0, 1])
    findings = clinical.flags_for_score(score, previous_total=9)
    assert [(f.kind, f.severity, f.cause) for f in findings] == [
        ("self_harm", "urgent", "self_harm"),
        ("worsening_score", "moderate", "worsening:PHQ-9"),
    ]
    assert "item 9" in findings[0].summary and "answered 1" in findings[0].summary


@pytest.mark.parametrize(
    ("instrument", "previous", "answers", "flagged"),
    [
        ("PHQ-9", 10, [2, 2, 2, 2, 2, 2, 2, 1, 0], True),  # 15: +5 = MCID
        ("PHQ-9", 11, [2, 2, 2, 2, 2, 2, 2, 1, 0], False),  # +4
        ("GAD-7", 8, [2, 2, 2, 2, 2, 2, 0], True),  # 12: +4 = GAD-7 MCID
        ("GAD-7", 9, [2, 2, 2, 2, 2, 2, 0], False),
    ],
)
def test_worsening_threshold_is_the_mcid(instrument: str, previous: int, answers: list[int], flagged: bool) -> None:
    findings = clinical.flags_for_score(clinical.score_instrument(instrument, answers), previous)
    assert any(f.kind == "worsening_score" for f in findings) is flagged


def test_cssrs_high_risk_is_urgent() -> None:
    score = clinical.score_instrument(
        "C-SSRS screener", {"q1": True, "q2": True, "q3": True, "q4": True, "q5": False, "q6": False}
    )
    assert [(f.kind, f.severity) for f in clinical.flags_for_score(score)] == [("suicide_risk", "urgent")]


@pytest.mark.parametrize(
    ("drug", "symptom", "severity", "expected"),
    [
        ("lamotrigine", "Rash on arms", "mild", ("red_flag_side_effect", "urgent")),
        ("quetiapine", "high fever and muscle rigidity", "moderate", ("red_flag_side_effect", "urgent")),
        ("clozapine", "sore throat", "mild", ("red_flag_side_effect", "urgent")),
        ("sertraline", "nausea", "severe", ("severe_side_effect", "high")),
        ("sertraline", "nausea", "moderate", None),
        ("trazodone", "priapism", "mild", ("red_flag_side_effect", "urgent")),
    ],
)
def test_side_effect_flags(drug: str, symptom: str, severity: str, expected: tuple[str, str] | None) -> None:
    finding = clinical.flag_for_side_effect(drug, symptom, severity)
    assert (None if finding is None else (finding.kind, finding.severity)) == expected


def test_lab_overdue_missed_doses_and_refills() -> None:
    assert clinical.flag_for_lab_result("TSH", 2.0, ref_low=0.4, ref_high=4.5) is None
    assert clinical.flag_for_lab_result("TSH", 9.0, ref_low=0.4, ref_high=4.5).severity == "high"
    assert clinical.flag_for_lab_result("Lithium level", 1.7).severity == "urgent"
    assert clinical.flag_for_overdue_lab("TSH", date(2026, 11, 1), on=date(2026, 11, 8)) is None
    assert clinical.flag_for_overdue_lab("TSH", date(2026, 11, 1), on=date(2026, 11, 9)).kind == "overdue_lab"
    assert clinical.flag_for_missed_doses(2) is None and clinical.flag_for_missed_doses(3).severity == "moderate"
    assert not clinical.refill_is_early(date(2026, 11, 1), 30, date(2026, 11, 29))
    assert clinical.refill_is_early(date(2026, 11, 1), 30, date(2026, 11, 28))
    early = clinical.flag_for_refill_request(
        "alprazolam", last_fill=date(2026, 11, 1), days_supply=30, requested_on=date(2026, 11, 20)
    )
    assert (early.kind, early.severity) == ("early_refill", "high") and "11 days early" in early.summary
    assert (
        clinical.flag_for_refill_request(
            "sertraline", last_fill=date(2026, 11, 1), days_supply=30, requested_on=date(2026, 11, 20)
        )
        is None
    )
    with pytest.raises(ValueError):
        clinical.flag_for_side_effect("sertraline", "nausea", "extreme")
