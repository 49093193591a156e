"""Medications in and outside the formulary: names, brands, salts, combinations, classes and RxNorm codes."""

from __future__ import annotations

import pytest

import clinical


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("tramadol", "tramadol"),
        ("Tramadol HCl 50 mg tablet", "tramadol"),
        ("Ultram", "tramadol"),
        ("Zyvox", "linezolid"),
        ("St. John's Wort", "st john's wort"),
        ("Advil", "ibuprofen"),
        ("losartan potassium 50mg", "losartan"),
        ("Paxlovid", "nirmatrelvir/ritonavir"),
        ("oral contraceptive", "ethinyl estradiol"),
        ("smoking", "tobacco smoke"),
        ("Lithium carbonate ER 300 mg", "lithium"),  # formulary names still win
        ("Suboxone", "buprenorphine/naloxone"),
        ("zorblaxin", None),
        ("", None),
    ],
)
def test_resolve_medication(name: str, canonical: str | None) -> None:
    assert clinical.resolve_medication(name) == canonical


def test_formulary_resolution_is_unchanged_for_outside_drugs() -> None:
    # Outside medications are known to the screens but are not formulary drugs (the forms still require those).
    assert clinical.resolve_drug("tramadol") is None
    assert clinical.classify_medication("tramadol").in_formulary is False  # type: ignore[union-attr]
    assert clinical.classify_medication("sertraline").in_formulary is True  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("methadone", {"qt_risk": "known", "cns_depressant": "opioid", "serotonergic": "weak"}),
        ("quetiapine", {"qt_risk": "conditional", "cns_depressant": "sedating antipsychotic"}),
        ("ketoconazole", {"cyp_inhibitor": {"3A4": "strong"}}),
        ("carbamazepine", {"cyp_inducer": {"3A4": "strong"}}),
        ("phenelzine", {"maoi": "full"}),
        ("linezolid", {"maoi": "partial"}),
        ("sertraline", {"serotonergic": "strong"}),
        ("gabapentin", {"cns_depressant": "gabapentinoid"}),
    ],
)
def test_classify_medication_properties(name: str, expected: dict) -> None:
    profile = clinical.classify_medication(name)
    assert profile is not None
    for field, value in expected.items():
        actual = getattr(profile, field)
        assert (dict(actual) if isinstance(value, dict) else actual) == value, field
    assert profile.sources


@pytest.mark.parametrize(
    ("name", "drug_class"),
    [
        ("oxycodone", "opioid"),
        ("fentanyl", "opioid"),
        ("buprenorphine", "opioid"),
        ("sumatriptan", "triptan"),
        ("azithromycin", "macrolide"),
        ("fluconazole", "azole antifungal"),
        ("ritonavir", "HIV protease inhibitor"),
        ("phenytoin", "anticonvulsant"),
        ("telmisartan", "ARB"),
        ("captopril", "ACE inhibitor"),
        ("chlorthalidone", "thiazide"),
        ("naproxen", "NSAID"),
        ("levonorgestrel", "hormonal contraceptive"),
        ("dextromethorphan", "antitussive"),
        ("ondansetron", "antiemetic"),
        ("haloperidol", "antipsychotic"),
    ],
)
def test_outside_medications_that_matter_in_psychiatry_are_known_by_class(name: str, drug_class: str) -> None:
    profile = clinical.classify_medication(name)
    assert profile is not None and drug_class in profile.classes


def test_combinations_report_their_ingredients() -> None:
    percocet = clinical.classify_medication("Percocet")
    assert percocet is not None and percocet.ingredients == ("oxycodone", "acetaminophen")
    assert percocet.cns_depressant == "opioid"
    assert clinical.medication_ingredients("lisinopril/HCTZ") == (("lisinopril", "hydrochlorothiazide"), ())
    assert clinical.medication_ingredients("oxycodone + zorblaxin") == (("oxycodone",), ("zorblaxin",))
    assert clinical.medication_ingredients("zorblaxin") == ((), ("zorblaxin",))


def test_unknown_medication_is_none() -> None:
    assert clinical.classify_medication("zorblaxin") is None


def test_rxnorm_codes_map_back_to_drugs() -> None:
    assert clinical.classify_medication("lithium").rxnorm == "6448"  # type: ignore[union-attr]
    assert clinical.drug_for_rxnorm("6448") == "lithium"
    assert clinical.drug_for_rxnorm("42351") == "lithium"  # the carbonate salt's code still maps (old rows)
    assert clinical.drug_for_rxnorm("10689") == "tramadol"
    assert clinical.drug_for_rxnorm("999999999") is None


def test_known_medications_include_formulary_and_outside_drugs() -> None:
    names = clinical.known_medications()
    assert names == sorted(names) and {"sertraline", "tramadol", "st john's wort"} <= set(names)
