"""Codes for FHIR exchange: instrument LOINC codes, answer lists and interpretation codes."""

from __future__ import annotations

from datetime import date

import pytest

import clinical
from clinical import interop
from clinical._data import load

DATE = date(2026, 11, 20)


def _loinc_check_digit(number: str) -> int:
    """LOINC's mod-10 check digit (the Luhn scheme): catches a mistyped code such as 69733-0."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return (10 - total % 10) % 10


def _is_valid_loinc(code: str) -> bool:
    number, _, check = code.partition("-")
    return number.isdigit() and check.isdigit() and _loinc_check_digit(number) == int(check)


@pytest.mark.parametrize("instrument", ["PHQ-9", "GAD-7"])
def test_phq9_and_gad7_have_panel_total_and_one_valid_item_code_per_item(instrument: str) -> None:
    info = clinical.instrument_info(instrument)
    codes = [info.loinc_panel, info.loinc_total, *info.item_loinc]
    assert len(info.item_loinc) == info.n_items
    assert len(set(codes)) == len(codes)
    assert all(code and _is_valid_loinc(code) for code in codes), codes


def test_gad7_item_codes_are_the_loinc_ones_not_the_often_misquoted_ones() -> None:
    gad7 = clinical.instrument_info("GAD-7")
    assert gad7.item_loinc == ("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7")
    for misquoted in ("68509-7", "69733-0", "69734-8", "69735-5", "69689-4", "69736-3"):
        assert not _is_valid_loinc(misquoted)


def test_every_lab_loinc_code_passes_the_check_digit() -> None:
    for test in clinical.lab_tests():
        assert test.loinc is None or _is_valid_loinc(test.loinc), test.name
        assert test.order_loinc is None or _is_valid_loinc(test.order_loinc), test.name
    for vital in clinical.vital_signs():
        assert all(_is_valid_loinc(code) for code in (vital.loinc, *vital.components.values())), vital.name


# Panel codes (CBC panel, lipid panel): a value with one unit and one reference range is never coded with them.
PANEL_CODES = {"58410-2", "24331-1", "57698-3", "57021-8"}


def test_results_are_coded_as_the_analyte_their_unit_describes_not_the_panel() -> None:
    """Issue 13: 'CBC with platelets' held the CBC panel code 58410-2 and 'Lipid panel' the lipid panel code
    24331-1 for a single value (platelets, LDL). The value now carries the analyte's code (777-3, 2089-1) and the
    panel is kept as the code to order."""
    for test in clinical.lab_tests():
        assert test.loinc not in PANEL_CODES, test.name
    cbc, lipids = clinical.lab_test("CBC with platelets"), clinical.lab_test("Lipid panel")
    assert cbc is not None and lipids is not None
    assert (cbc.loinc, cbc.order_loinc, cbc.analyte) == ("777-3", "58410-2", "Platelet count")
    assert (lipids.loinc, lipids.order_loinc, lipids.analyte) == ("2089-1", "24331-1", "LDL cholesterol")
    due = next(lab for lab in clinical.monitoring_labs("olanzapine", "start", on=DATE) if lab.test == "Lipid panel")
    assert due.loinc == "2089-1"


def test_every_lab_and_vital_unit_is_valid_ucum() -> None:
    """Issue 13: units such as 'mcg/mL', 'mIU/L' and '10^3/uL (platelets)' are not UCUM; ucumvert parses UCUM."""
    from lark.exceptions import LarkError
    from ucumvert import get_ucum_parser

    parser = get_ucum_parser()
    units = [(t.name, t.unit) for t in clinical.lab_tests()] + [(v.name, v.unit) for v in clinical.vital_signs()]
    for name, unit in units:
        parser.parse(unit)  # raises on anything that is not UCUM
        assert unit == unit.strip() and " " not in unit, name
    for not_ucum in ("mcg/mL", "mIU/L", "10^3/uL (platelets)", "result"):
        with pytest.raises(LarkError):
            parser.parse(not_ucum)


def test_answer_codes_map_to_item_scores() -> None:
    assert [a.score for a in interop.answer_codes("PHQ-9")] == [0, 1, 2, 3]
    assert interop.answer_score("GAD-7", "LA6571-9") == 3
    assert interop.answer_score("GAD-7", "LA0000-0") is None
    assert interop.answer_codes("AUDIT-C") == ()


def test_every_stored_interpretation_label_has_a_v3_code() -> None:
    assert interop.interpretation_code("critical high") == ("HH", "Critical high")
    assert {code for code, _ in interop.INTERPRETATION_CODES.values()} == {"N", "L", "H", "LL", "HH"}


def test_frequency_codes_round_trip_through_doses_per_day() -> None:
    for frequency in ("once daily", "twice daily", "three times daily", "four times daily"):
        assert interop.frequency_for_times_per_day(interop.times_per_day(frequency) or 0) == frequency


def test_us_core_codes_are_sourced_and_clinical_drugs_name_formulary_drugs_at_their_strength() -> None:
    data = load("us_core")
    for block in ("race", "ethnicity", "birthsex", "encounter_types", "qualitative_results", "lab_order_category",
                  "medication_request_category"):
        assert data[block]["source"], block
    for row in data["clinical_drugs"]["drugs"]:
        assert clinical.formulary_entry(row["drug"]).rxnorm, row
        assert row["display"].lower().startswith(f"{row['drug']} {row['strength_mg']:g} mg oral {row['form']}"), row
        assert row["verification"] and row["rxcui"].isdigit(), row
    # No unverified code goes out (it may name another strength); a verified one would.
    assert interop.clinical_drug("sertraline", 50.0, "mg", "tablet") is None


def test_a_verified_clinical_drug_code_is_exported_and_an_absent_strength_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = load("us_core")
    verified = {**data, "clinical_drugs": {"drugs": [
        {**row, "verification": "verified (RxNav)"} for row in data["clinical_drugs"]["drugs"]
    ]}}
    monkeypatch.setattr(interop, "_us_core", lambda: verified)
    interop._clinical_drugs.cache_clear()
    try:
        assert interop.clinical_drug("sertraline", 50.0, "mg", "tablet") is not None
        assert interop.clinical_drug("sertraline", 150.0, "mg", "tablet") is None  # no 150 mg tablet
    finally:
        interop._clinical_drugs.cache_clear()


def test_demographic_codes_fall_back_to_unknown_and_encounter_types_follow_visit_length() -> None:
    assert interop.race_concept("2054-5").display == "Black or African American"
    assert (interop.race_concept(None).code, interop.ethnicity_concept("ASKU").code) == ("UNK", "ASKU")
    assert interop.birthsex_code("female") == "F" and interop.birthsex_code("other") == "UNK"
    assert interop.encounter_type("intake", 60).code == "90792"
    codes = [interop.encounter_type("follow-up", minutes).code for minutes in (15, 20, 30, 45)]
    assert codes == ["99212", "99213", "99214", "99215"]
