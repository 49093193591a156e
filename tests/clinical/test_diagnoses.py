"""Diagnosis reference data: every code the seed uses is listed, well formed and sourced."""

from __future__ import annotations

from clinical.diagnoses import diagnoses, diagnosis
from db.commands.intake import ICD10_PATTERN
from seed.catalog import DIAGNOSES


def test_every_seed_diagnosis_is_reference_data_with_the_same_title() -> None:
    for code, seeded in DIAGNOSES.items():
        entry = diagnosis(code)
        assert entry is not None, code
        assert (entry.display, entry.condition) == (seeded.description, seeded.condition)


def test_every_entry_is_a_well_formed_icd10cm_code_with_a_source() -> None:
    entries = diagnoses()
    assert len({entry.code for entry in entries}) == len(entries)
    for entry in entries:
        assert ICD10_PATTERN.match(entry.code), entry.code
        assert entry.display and entry.source and entry.verification, entry.code


def test_lookup_ignores_case_and_spaces_and_answers_none_for_unknown_codes() -> None:
    assert diagnosis(" f33.1 ") == diagnosis("F33.1")
    assert diagnosis("Z99.999") is None
