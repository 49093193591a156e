"""Every reference data file is complete, consistent and sourced."""

from __future__ import annotations

import clinical
from clinical._data import load


def test_every_formulary_entry_has_a_maximum_or_a_reason_and_a_source() -> None:
    for raw in load("formulary")["drugs"]:
        assert raw["max_daily_mg"] is not None or raw["max_reason"], raw["name"]
        assert raw["sources"], raw["name"]
        for rule in raw["max_rules"]:
            assert rule["source"] and rule["why"] and rule["max"] > 0, raw["name"]


def test_every_interaction_names_known_drugs_and_has_advice() -> None:
    groups = load("interactions")["groups"]
    formulary_names = {entry.name for entry in clinical.formulary()}
    non_formulary = {member for members in groups.values() for member in members}
    for pair in load("interactions")["interactions"]:
        for side in (pair["a"], pair["b"]):
            for item in side:
                assert item in groups or item in formulary_names or item in non_formulary, item
        assert pair["severity"] in ("contraindicated", "major", "moderate") and pair["advice"]
    for members in groups.values():
        for member in members:
            resolved = clinical.resolve_drug(member)
            assert resolved is None or resolved == member, member  # formulary members use canonical names


def test_every_scale_band_set_covers_its_range_without_gaps_or_overlaps() -> None:
    for name in clinical.INSTRUMENTS:
        info = clinical.instrument_info(name)
        if not info.bands:
            continue
        assert info.bands[0].low == info.total_min and info.bands[-1].high == info.total_max, name
        for before, after in zip(info.bands, info.bands[1:], strict=False):
            assert after.low == before.high + 1, name


def test_every_lab_monitoring_and_rule_entry_is_sourced() -> None:
    for test in clinical.lab_tests():
        assert test.source, test.name
    monitoring = load("monitoring")
    assert monitoring["antipsychotic_metabolic"]["source"]
    known_tests = {test.name for test in clinical.lab_tests()}
    for drug, rules in monitoring["drugs"].items():
        assert clinical.resolve_drug(drug) == drug and rules["source"], drug
        for event in ("start", "dose_change", "maintenance"):
            for rule in rules.get(event, []):
                assert rule["test"] in known_tests, (drug, rule["test"])
    for kind, rule in load("flag_rules").items():
        if kind != "meta":
            assert rule["severity"] in clinical.SEVERITY_ORDER and rule["source"], kind
    for period in load("telehealth_rules")["periods"]:
        assert period["source"] and period["from"] <= period["to"]
