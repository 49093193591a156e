"""Scale scoring: every band boundary, cut-offs, skip logic, invalid input, and outcomes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clinical

PHQ9_BOUNDARIES = [
    (0, "minimal"),
    (4, "minimal"),
    (5, "mild"),
    (9, "mild"),
    (10, "moderate"),
    (14, "moderate"),
    (15, "moderately severe"),
    (19, "moderately severe"),
    (20, "severe"),
    (27, "severe"),
]
GAD7_BOUNDARIES = [
    (0, "minimal"),
    (4, "minimal"),
    (5, "mild"),
    (9, "mild"),
    (10, "moderate"),
    (14, "moderate"),
    (15, "severe"),
    (21, "severe"),
]


def answers_for(total: int, n_items: int, item_max: int = 3, *, keep_last_zero: bool = False) -> list[int]:
    answers = [0] * n_items
    slots = range(n_items - 1) if keep_last_zero else range(n_items)
    for index in slots:
        answers[index] = min(item_max, total - sum(answers))
    assert sum(answers) == total
    return answers


@pytest.mark.parametrize(("total", "band"), PHQ9_BOUNDARIES)
def test_phq9_band_boundaries(total: int, band: str) -> None:
    keep_zero = total <= 24
    score = clinical.score_instrument("PHQ-9", answers_for(total, 9, keep_last_zero=keep_zero))
    assert (score.total, score.severity) == (total, band)
    assert score.positive is (total >= 10)


@pytest.mark.parametrize(("total", "band"), GAD7_BOUNDARIES)
def test_gad7_band_boundaries(total: int, band: str) -> None:
    score = clinical.score_instrument("gad7", answers_for(total, 7))
    assert (score.instrument, score.total, score.severity, score.positive) == ("GAD-7", total, band, total >= 10)


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_any_positive_item_9_flags_self_harm_whatever_the_total(item9: int) -> None:
    score = clinical.score_instrument("PHQ-9", [0] * 8 + [item9])
    assert "self_harm" in score.flags and score.severity == "minimal" and score.item9 == item9
    assert "self_harm" not in clinical.score_instrument("PHQ-9", [3] * 8 + [0]).flags


@pytest.mark.parametrize(
    ("sex", "total", "positive"),
    [
        ("male", 3, False),
        ("male", 4, True),
        ("female", 2, False),
        ("female", 3, True),
        (None, 3, True),
        (None, 2, False),
    ],
)
def test_audit_c_cutoff_depends_on_sex(sex: str | None, total: int, positive: bool) -> None:
    assert clinical.score_instrument("AUDIT-C", answers_for(total, 3, 4), sex=sex).positive is positive


@pytest.mark.parametrize(("total", "positive"), [(32, False), (33, True), (0, False), (80, True)])
def test_pcl5_provisional_cutoff(total: int, positive: bool) -> None:
    score = clinical.score_instrument("PCL-5", answers_for(total, 20, 4))
    assert (score.total, score.positive, score.severity) == (total, positive, None)


@pytest.mark.parametrize(
    ("answers", "severity", "positive"),
    [
        ({"q1": False, "q2": False, "q6": False}, "low", False),
        ({"q1": True, "q2": False, "q6": False}, "low", True),
        ({"q1": True, "q2": True, "q3": True, "q4": False, "q5": False, "q6": False}, "moderate", True),
        ({"q1": True, "q2": True, "q3": True, "q4": True, "q5": False, "q6": False}, "high", True),
        ({"q1": True, "q2": True, "q3": False, "q4": False, "q5": True, "q6": False}, "high", True),
        ({"q1": False, "q2": False, "q6": True, "q6_months_ago": 2}, "high", True),
        ({"q1": False, "q2": False, "q6": True, "q6_months_ago": 3}, "high", True),
        ({"q1": False, "q2": False, "q6": True, "q6_months_ago": 4}, "moderate", True),
    ],
)
def test_cssrs_triage(answers: dict, severity: str, positive: bool) -> None:
    score = clinical.score_instrument("C-SSRS screener", answers)
    assert (score.severity, score.positive, score.total) == (severity, positive, None)
    assert ("suicide_risk_high" in score.flags) is (severity == "high")


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"q1": True, "q2": False, "q3": True, "q6": False}, "q3 is asked only when q2 is yes"),
        ({"q1": True, "q2": True, "q6": False}, "q3 must be true or false"),
        ({"q1": True, "q2": False, "q6": True}, "q6_months_ago"),
        ({"q1": "yes", "q2": False, "q6": False}, "q1"),
        ({"q1": False, "q2": False, "q6": False, "q9": True}, "unknown item"),
    ],
)
def test_cssrs_invalid_answers_name_the_item(answers: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        clinical.score_instrument("C-SSRS screener", answers)


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([0] * 8, "needs 9 item answers, got 8"),
        ([0] * 8 + [4], "item 9 must be an integer 0-3, got 4"),
        ([0, -1] + [0] * 7, "item 2"),
        ([0.5] + [0] * 8, "item 1"),
        ([True] + [0] * 8, "item 1"),
        (["1"] + [0] * 8, "item 1"),
        ([None] + [0] * 8, "item 1"),
        ("000000000", "must be a list"),
    ],
)
def test_invalid_phq9_answers_raise_value_error_naming_the_item(answers: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        clinical.score_instrument("PHQ-9", answers)


def test_unknown_instrument_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown instrument"):
        clinical.score_instrument("BDI-II", [0] * 21)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["PHQ-9", "GAD-7", "AUDIT-C", "PCL-5"]), st.data())
def test_any_valid_answers_score_inside_the_range(instrument: str, data: st.DataObject) -> None:
    info = clinical.instrument_info(instrument)
    answers = data.draw(
        st.lists(st.integers(info.item_min, info.item_max), min_size=info.n_items, max_size=info.n_items)
    )
    score = clinical.score_instrument(instrument, answers)
    assert score.total == sum(answers)
    assert info.total_min <= score.total <= info.total_max
    if info.bands:
        band = next(b for b in info.bands if b.low <= score.total <= b.high)
        assert score.severity == band.label


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["PHQ-9", "GAD-7"]),
    st.lists(st.one_of(st.integers(-5, 8), st.floats(), st.text(max_size=2), st.booleans(), st.none()), max_size=12),
)
def test_invalid_answers_raise_never_score(instrument: str, answers: list) -> None:
    info = clinical.instrument_info(instrument)
    valid = len(answers) == info.n_items and all(
        type(a) is int and info.item_min <= a <= info.item_max for a in answers
    )
    if valid:
        assert clinical.score_instrument(instrument, answers).total == sum(answers)
    else:
        with pytest.raises(ValueError):
            clinical.score_instrument(instrument, answers)


@pytest.mark.parametrize(
    ("baseline", "current", "reduction", "response", "remission", "important"),
    [
        (20, 10, 50.0, True, False, True),
        (20, 11, 45.0, False, False, True),
        (20, 16, 20.0, False, False, False),
        (20, 15, 25.0, False, False, True),
        (12, 4, 66.7, True, True, True),
        (8, 5, 37.5, False, False, False),
        (0, 0, 0.0, False, True, False),
        (10, 15, -50.0, False, False, False),
    ],
)
def test_treatment_outcome_phq9(
    baseline: int, current: int, reduction: float, response: bool, remission: bool, important: bool
) -> None:
    outcome = clinical.treatment_outcome(baseline, current)
    assert (outcome.percent_reduction, outcome.response, outcome.remission, outcome.clinically_important_change) == (
        reduction,
        response,
        remission,
        important,
    )


def test_gad7_outcome_uses_its_own_mcid_and_range() -> None:
    assert clinical.treatment_outcome(12, 8, "GAD-7").clinically_important_change  # GAD-7 MCID is 4
    assert not clinical.treatment_outcome(12, 9, "GAD-7").clinically_important_change
    with pytest.raises(ValueError, match="0-21"):
        clinical.treatment_outcome(22, 5, "GAD-7")


def test_instrument_codes() -> None:
    phq9 = clinical.instrument_info("PHQ-9")
    assert (phq9.loinc_panel, phq9.loinc_total, phq9.item_loinc[8]) == ("44249-1", "44261-6", "44260-8")
    assert len(phq9.item_labels) == 9 and len(clinical.instrument_info("GAD-7").item_labels) == 7
    assert clinical.instrument_info("GAD-7").loinc_total == "70274-6"


def test_response_level_is_half_the_baseline_where_the_instrument_defines_a_response() -> None:
    from clinical import response_level

    assert response_level("PHQ-9", 20) == 10.0
    assert response_level("GAD-7", 15) == 7.5
    assert response_level("AUDIT-C", 8) is None  # no response definition
