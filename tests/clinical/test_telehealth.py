"""Telehealth prescribing of controlled substances, by date and modality."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

import clinical

IN_2026 = date(2026, 11, 20)
IN_2027 = date(2027, 1, 4)


@pytest.mark.parametrize(
    ("drug", "modality", "on", "permitted"),
    [
        ("sertraline", "audio-only", IN_2027, True),
        ("methylphenidate", "video", IN_2026, True),
        ("methylphenidate", "audio-only", IN_2026, False),
        ("lorazepam", "video", date(2026, 12, 31), True),
        ("lorazepam", "video", IN_2027, False),
        ("buprenorphine/naloxone", "audio-only", IN_2026, True),
        ("buprenorphine/naloxone", "audio-only", IN_2027, True),
        ("lisdexamfetamine", "video", IN_2027, False),
    ],
)
def test_rules_by_date_and_modality(drug: str, modality: str, on: date, permitted: bool) -> None:
    assert clinical.telehealth_prescribing(drug, modality=modality, on=on).permitted is permitted


def test_requirements_and_prior_in_person() -> None:
    rule = clinical.telehealth_prescribing("buprenorphine", modality="video", on=IN_2026)
    assert any("PDMP" in requirement for requirement in rule.requirements)
    assert any("6 months" in requirement for requirement in rule.requirements)
    assert clinical.telehealth_prescribing("alprazolam", modality="video", on=IN_2027, prior_in_person=True).permitted
    with pytest.raises(ValueError):
        clinical.telehealth_prescribing("alprazolam", modality="fax", on=IN_2026)


@pytest.mark.parametrize(
    ("drug", "modality", "on", "permitted", "rule_set"),
    [
        # Issue 13: video schedule II and audio-only buprenorphine in 2025 were allowed (third extension).
        ("methylphenidate", "video", date(2025, 6, 1), True, "Third Temporary Extension"),
        ("buprenorphine/naloxone", "audio-only", date(2025, 6, 1), True, "Third Temporary Extension"),
        ("lorazepam", "audio-only", date(2025, 6, 1), False, "Ryan Haight"),
        # Second extension (88 FR 69879) and the first temporary rule (88 FR 30037).
        ("lisdexamfetamine", "video", date(2024, 7, 1), True, "Second Temporary Extension"),
        ("alprazolam", "video", date(2023, 5, 12), True, "first temporary rule"),
        ("suboxone", "phone", date(2023, 9, 1), True, "first temporary rule"),
        # The public health emergency: video from 2020-03-16, audio-only buprenorphine from 2020-03-31.
        ("amphetamine", "video", date(2021, 2, 1), True, "public health emergency"),
        ("buprenorphine", "audio-only", date(2020, 3, 20), False, "Ryan Haight"),
        ("buprenorphine", "audio-only", date(2020, 4, 1), True, "audio-only buprenorphine"),
        # Before the emergency: the Ryan Haight Act.
        ("methylphenidate", "video", date(2019, 12, 1), False, "Ryan Haight"),
        # Fourth extension (90 FR 61301) through 2026-12-31.
        ("clonazepam", "video", date(2026, 1, 1), True, "Fourth Temporary Extension"),
    ],
)
def test_dated_rule_sets(drug: str, modality: str, on: date, permitted: bool, rule_set: str) -> None:
    rule = clinical.telehealth_prescribing(drug, modality=modality, on=on)
    assert rule.permitted is permitted and rule_set in rule.rule_set
    assert rule.source, "each rule set names its source"


def test_buprenorphine_six_months_from_the_first_telemedicine_prescription() -> None:
    """90 FR 6504: six calendar months in total by telemedicine, then an in-person evaluation."""
    first = date(2027, 1, 10)
    inside = clinical.telehealth_prescribing(
        "buprenorphine", modality="audio-only", on=date(2027, 7, 9), first_telemedicine_rx=first
    )
    assert inside.permitted and "2027-07-10" in inside.reason and "90 FR 6504" in inside.rule_set
    after = clinical.telehealth_prescribing(
        "buprenorphine", modality="audio-only", on=date(2027, 7, 10), first_telemedicine_rx=first
    )
    assert not after.permitted and "in-person" in after.reason
    assert clinical.telehealth_prescribing(
        "buprenorphine", modality="video", on=date(2027, 8, 1), first_telemedicine_rx=first, prior_in_person=True
    ).permitted
    # In 2026 the fourth extension still covers buprenorphine once the six months are over.
    covered = clinical.telehealth_prescribing(
        "buprenorphine", modality="audio-only", on=date(2026, 11, 1), first_telemedicine_rx=date(2026, 1, 5)
    )
    assert covered.permitted and "ended on 2026-07-05" in covered.reason and "Fourth" in covered.rule_set
    unknown_start = clinical.telehealth_prescribing("buprenorphine", modality="audio-only", on=date(2027, 3, 1))
    assert unknown_start.permitted and "Record the date of the first telemedicine prescription" in unknown_start.reason
    with pytest.raises(ValueError):
        clinical.telehealth_prescribing(
            "buprenorphine", modality="video", on=date(2026, 1, 1), first_telemedicine_rx=date(2026, 2, 1)
        )


def test_a_date_after_the_last_known_rule_set_says_so() -> None:
    rule = clinical.telehealth_prescribing("methylphenidate", modality="video", on=IN_2027)
    assert not rule.permitted and "No rule set is known after 2026-12-31" in rule.reason
    bup = clinical.telehealth_prescribing("buprenorphine", modality="video", on=IN_2027)
    assert bup.permitted and "No rule set is known after 2026-12-31" in bup.reason
    assert (
        "No rule set is known"
        not in clinical.telehealth_prescribing("methylphenidate", modality="video", on=IN_2026).reason
    )


def test_rule_sets_are_contiguous_sourced_and_end_at_the_last_known_date() -> None:
    from clinical._data import load
    from clinical.telehealth import add_months

    rules = load("telehealth_rules")
    periods = rules["periods"]
    for before, after in itertools.pairwise(periods):
        assert date.fromisoformat(after["from"]) == date.fromisoformat(before["to"]) + timedelta(days=1)
        assert after["source"] and after["verification"]
    assert periods[-1]["to"] == rules["meta"]["last_known_date"]
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28) and add_months(date(2026, 1, 5), 6) == date(2026, 7, 5)
