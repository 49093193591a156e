"""Every reference data file is complete, consistent and sourced."""

from __future__ import annotations

import re

import clinical
from clinical._data import load
from clinical.interactions import _pairs, _side_members

CYP_ENZYMES = {"1A2", "2B6", "2C9", "2C19", "2D6", "3A4"}


def _mentions(text: str, drug: str) -> bool:
    return re.search(rf"\b{re.escape(drug)}\b", text, flags=re.IGNORECASE) is not None


def test_every_formulary_entry_has_a_maximum_or_a_reason_and_a_source() -> None:
    for raw in load("formulary")["drugs"]:
        assert raw["max_daily_mg"] is not None or raw["max_reason"], raw["name"]
        assert raw["sources"], raw["name"]
        for rule in raw["max_rules"]:
            assert rule["source"] and rule["why"] and rule["max"] > 0, raw["name"]


def test_every_interaction_names_known_drugs_and_has_advice() -> None:
    knowledge = load("drugs")["drugs"]
    tags = {tag for entry in knowledge.values() for tag in entry.get("classes", [])}
    kinds = set(load("class_rules")["meta"]["kinds"])
    for pair in load("interactions")["interactions"]:
        for item in (*pair["a"], *pair["b"]):
            assert item in tags or item in knowledge, item
        assert pair["severity"] in ("contraindicated", "major", "moderate") and pair["advice"]
        assert set(pair["covers"]) <= kinds - {"pair", "unknown"}, pair["reference_pair"]
        assert pair["sources"] or "unverified" in pair["verification"], pair["reference_pair"]
        for member in pair.get("advice_for", {}):
            assert member in _side_members(pair["a"]) | _side_members(pair["b"]), member


def test_pair_advice_never_names_another_member_of_its_sides() -> None:
    """Advice shown for one pair must not carry another member's advice (the 'Aripiprazole: halve dose' shown
    for atomoxetine + fluoxetine)."""
    for a, b, raw, _ in _pairs():
        members = a | b
        for x in a:
            for y in b:
                if x == y:
                    continue
                advice_for = raw.get("advice_for", {})
                text = " ".join([raw["advice"], *(advice_for[d] for d in (x, y) if d in advice_for)])
                others = [m for m in members - {x, y} if _mentions(text, m)]
                assert not others, (x, y, others)


def test_class_rule_advice_names_only_the_two_drugs(all_known_findings: list[clinical.Interaction]) -> None:
    """Class findings among every pair of known drugs mention no drug but the two and their ingredients
    (naloxone is rescue advice; magnesium is the electrolyte to check before QT-prolonging drugs)."""
    names = clinical.known_medications()
    pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")\b")
    for interaction in all_known_findings:
        if interaction.kind == "pair":
            continue
        allowed = {"naloxone", "magnesium", *(d.lower() for d in interaction.drugs)}
        allowed |= {i for d in interaction.drugs for i in clinical.medication_ingredients(d)[0]}
        mentioned = {m.lower() for m in pattern.findall(interaction.advice.lower())}
        assert mentioned <= allowed, (interaction.drugs, mentioned - allowed)


def test_drug_knowledge_is_complete_and_every_property_is_sourced() -> None:
    data = load("drugs")
    sources, knowledge = data["sources"], data["drugs"]
    for entry in clinical.formulary():
        assert entry.name in knowledge, f"formulary drug {entry.name} has no screening properties"
    aliases: dict[str, str] = {}
    vocab = {
        "qt_risk": {"known", "possible", "conditional"},
        "qt_label": {"caution", "avoid", "contraindicated"},
        "serotonergic": {"strong", "weak"},
        "maoi": {"full", "partial"},
        "with_maoi": {"contraindicated", "major"},
    }
    cns = {c for rule in load("class_rules")["cns_depressant"]["rules"] for c in rule["a"] + rule["b"]}
    for name, entry in knowledge.items():
        assert entry["classes"], name
        assert clinical.resolve_medication(name) == name, name  # formulary drugs use canonical names
        for alias in entry.get("aliases", []):
            assert aliases.setdefault(alias, name) == name, f"alias {alias} names two drugs"
            assert clinical.resolve_medication(alias) == name, alias
        for ingredient in entry.get("ingredients", []):
            assert ingredient in knowledge, (name, ingredient)
        for prop, allowed in vocab.items():
            assert entry.get(prop, next(iter(allowed))) in allowed, (name, prop)
        assert entry.get("cns_depressant", "opioid") in cns, name
        for role in ("cyp_inhibitor", "cyp_inducer"):
            for enzyme, strength in entry.get(role, {}).items():
                assert enzyme in CYP_ENZYMES and strength in ("strong", "moderate", "weak"), (name, role)
        for enzyme, responses in entry.get("cyp_substrate", {}).items():
            assert enzyme in CYP_ENZYMES, name
            for response in responses.values():
                assert response["severity"] in ("contraindicated", "major", "moderate") and response["advice"]
                assert response["source"] and set(response["source"]) <= set(sources), name
        for note in entry.get("notes", {}).values():
            assert note["text"] and set(note["source"]) <= set(sources), name
        properties = set(entry) - {"aliases", "sources", "verification", "notes"}
        assert properties <= set(entry["sources"]), (name, properties - set(entry["sources"]))
        for keys in entry["sources"].values():
            assert keys and set(keys) <= set(sources), name


def test_rxnorm_codes_claimed_as_ingredients_are_ingredients() -> None:
    """Every code used as an RxNorm ingredient (term type IN) is in the offline ingredient list with the same
    name, and none is a known salt code (lithium carbonate 42351 is not the lithium ingredient 6448)."""
    rxnorm = load("rxnorm")
    ingredients, salts = rxnorm["ingredients"], rxnorm["not_ingredients"]
    assert ingredients["6448"]["name"] == "lithium" and salts["42351"]["name"] == "lithium carbonate"
    claimed = [(raw["rxnorm"], raw.get("rxnorm_name", raw["name"])) for raw in load("formulary")["drugs"]]
    claimed += [(entry["rxnorm"], name) for name, entry in load("drugs")["drugs"].items() if entry.get("rxnorm")]
    for code, name in claimed:
        assert code not in salts, (name, code, salts.get(code))
        assert code in ingredients, (name, code)
        assert ingredients[code]["tty"] == "IN" and ingredients[code]["name"] == name, (name, code)
        assert ingredients[code]["verification"], code
    assert len({code for code, _ in claimed}) == len(claimed), "two drugs claim the same ingredient code"


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
    known = {"lab": {test.name for test in clinical.lab_tests()}, "vital": {v.name for v in clinical.vital_signs()}}
    protocol = monitoring["antipsychotic_metabolic"]
    assert protocol["vitals_source"]
    schedules = [(drug, rules) for drug, rules in monitoring["drugs"].items()] + [("antipsychotics", protocol)]
    for drug, rules in schedules:
        assert drug == "antipsychotics" or clinical.resolve_drug(drug) == drug, drug
        assert rules["source"], drug
        for event in ("start", "dose_change", "maintenance"):
            for rule in rules.get(event, []):
                kind = rule.get("kind", "lab")
                assert rule["test"] in known[kind], (drug, rule["test"])
                assert rule.get("ancestry_list") in (None, *monitoring["ancestry_lists"]), drug
                assert rule.get("if_could_be_pregnant", False) in (True, False) and rule["reason"], drug
                assert not rule.get("if_could_be_pregnant") or rule["test"] == "Pregnancy test", drug
    for group in monitoring["ancestry_lists"].values():
        assert group["terms"] and group["source"] and group["verification"]
    for kind, rule in load("flag_rules").items():
        if kind != "meta":
            assert rule["severity"] in clinical.SEVERITY_ORDER and rule["source"], kind
    for period in load("telehealth_rules")["periods"]:
        assert period["source"] and period["from"] <= period["to"]


def test_reproductive_findings_are_sourced_and_name_known_drugs() -> None:
    from clinical.reproductive import _CLASS_MEMBERS

    data = load("reproductive")
    applies = {"pregnancy", "reproductive_potential", "lactation", "male"}
    window = data["reproductive_potential"]
    assert 0 < window["age_from"] < window["age_to"] and window["sources"]
    assert set(data["classes"]) == set(_CLASS_MEMBERS)
    groups = [*data["drugs"].items(), *data["classes"].items()]
    for name, findings in groups:
        assert name in data["classes"] or clinical.resolve_medication(name) == name, name
        for finding in findings:
            assert finding["applies"] in applies and finding["severity"] in data["meta"]["severities"], name
            assert finding["kind"] and finding["summary"] and finding["advice"] and finding["verification"], name
            assert finding["sources"] and set(finding["sources"]) <= set(data["sources"]), name


def test_every_vital_sign_is_sourced() -> None:
    vitals = clinical.vital_signs()
    assert {v.name for v in vitals} >= {"Weight", "Height", "BMI", "Blood pressure", "Waist circumference"}
    assert all(v.source and v.loinc for v in vitals)
    assert dict(clinical.vital_sign("blood pressure").components) == {"systolic": "8480-6", "diastolic": "8462-4"}
