"""Telehealth prescribing of controlled substances, by date and modality."""

from __future__ import annotations

from datetime import date

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
