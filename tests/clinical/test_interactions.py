"""Interactions: the pair table and the class rules, in and outside the formulary, with advice specific to the pair.

Every class rule is tested with at least one drug that no pair-table entry names, so the finding can only come
from the drug's properties in clinical/data/drugs.json. Sources are cited beside each case (keys of drugs.json
"sources" in brackets).
"""

from __future__ import annotations

import pytest

import clinical
from clinical.interactions import _pair_table


def _findings(*drugs: str) -> dict[str, clinical.Interaction]:
    found = clinical.check_interactions(list(drugs))
    by_kind = {interaction.kind: interaction for interaction in found}
    assert len(by_kind) == len(found), "at most one finding per kind for a pair"
    return by_kind


def _class_finding(kind: str, *drugs: str) -> clinical.Interaction:
    """The class-rule finding of ``kind`` for two drugs that no pair-table entry names together, so it can only
    come from the drugs' properties in drugs.json."""
    first, second = (clinical.medication_ingredients(drug)[0] for drug in drugs)
    assert all(_pair_table(x, y)[0] is None for x in first for y in second), f"{drugs} is in the pair table"
    return _findings(*drugs)[kind]


# ------------------------------------------------------------------------------------------------ pair table


@pytest.mark.parametrize(
    ("drugs", "pair", "severity"),
    [
        (["sertraline", "phenelzine"], ("sertraline", "phenelzine"), "contraindicated"),
        (["Lithium Carbonate", "ibuprofen"], ("Lithium Carbonate", "ibuprofen"), "major"),
        (["lisinopril", "lithium"], ("lisinopril", "lithium"), "major"),
        (["lithium", "hydrochlorothiazide"], ("lithium", "hydrochlorothiazide"), "major"),
        (["divalproex", "lamotrigine"], ("divalproex", "lamotrigine"), "major"),
        (["linezolid", "escitalopram"], ("linezolid", "escitalopram"), "contraindicated"),
        (["naltrexone", "Suboxone"], ("naltrexone", "Suboxone"), "contraindicated"),
        (["lorazepam", "oxycodone"], ("lorazepam", "oxycodone"), "major"),
        (["ketoconazole", "lurasidone"], ("ketoconazole", "lurasidone"), "contraindicated"),
        # alprazolam label: contraindicated with ketoconazole and itraconazole [alprazolam-label-cyp3a]
        (["alprazolam", "ketoconazole"], ("alprazolam", "ketoconazole"), "contraindicated"),
        (["itraconazole", "alprazolam"], ("itraconazole", "alprazolam"), "contraindicated"),
        (["sertraline", "sumatriptan"], ("sertraline", "sumatriptan"), "moderate"),
        (["fluoxetine", "aripiprazole"], ("fluoxetine", "aripiprazole"), "moderate"),
    ],
)
def test_known_pairs(drugs: list[str], pair: tuple[str, str], severity: str) -> None:
    found = clinical.check_interactions(drugs)
    assert [(i.drugs, i.severity) for i in found] == [(pair, severity)]
    assert found[0].advice


def test_every_pair_among_several_drugs_most_severe_first() -> None:
    found = clinical.check_interactions(["sertraline", "lithium", "ibuprofen", "phenelzine"])
    assert [i.severity for i in found] == ["contraindicated", "major", "moderate", "moderate", "moderate"]
    assert {(frozenset(i.drugs), i.kind) for i in found} == {
        (frozenset({"sertraline", "phenelzine"}), "pair"),
        (frozenset({"lithium", "ibuprofen"}), "pair"),
        (frozenset({"sertraline", "ibuprofen"}), "pair"),
        # SSRI labels name lithium among serotonergic drugs [ssri-labels-serotonergic]
        (frozenset({"sertraline", "lithium"}), "serotonergic"),
        (frozenset({"lithium", "phenelzine"}), "maoi"),
    }


def test_benzodiazepine_with_buprenorphine_keeps_the_specific_moud_advice() -> None:
    [interaction] = clinical.check_interactions(["clonazepam", "buprenorphine/naloxone"])
    assert interaction.severity == "major" and "do not withhold MOUD" in interaction.advice
    assert interaction.kind == "pair"


def test_no_interaction_no_self_interaction_and_duplicates_ignored() -> None:
    assert clinical.check_interactions(["sertraline", "Sertraline", "Zoloft", "lamotrigine"]) == []
    assert clinical.check_interactions([]) == []


@pytest.mark.parametrize("arb_or_acei", ["candesartan", "olmesartan", "telmisartan", "captopril", "Atacand"])
def test_lithium_with_every_arb_and_ace_inhibitor(arb_or_acei: str) -> None:
    # Lithium clearance falls with ACE inhibitors and angiotensin II receptor antagonists as classes [lithium-renal]
    finding = _findings("lithium", arb_or_acei)["pair"]
    assert finding.severity == "major" and "lithium" in finding.advice.lower()


def test_lithium_with_aspirin_is_not_an_nsaid_interaction() -> None:
    # Aspirin and sulindac change lithium clearance less consistently than other NSAIDs [lithium-renal]
    assert all(i.severity != "major" for i in clinical.check_interactions(["lithium", "aspirin"]))
    assert clinical.check_interactions(["lithium", "aspirin"]) == []
    assert "NSAID" not in clinical.classify_medication("aspirin").classes  # type: ignore[union-attr]
    # ... while aspirin keeps its bleeding interaction with SSRIs (antiplatelet)
    assert _findings("sertraline", "aspirin")["pair"].severity == "moderate"


# ------------------------------------------------------------------------------------------------ advice


def test_atomoxetine_with_fluoxetine_shows_atomoxetine_advice_only() -> None:
    # The shared text used to show "Aripiprazole: halve dose" for atomoxetine + fluoxetine.
    finding = _class_finding("cyp", "atomoxetine", "fluoxetine")
    assert finding.severity == "moderate"
    assert "atomoxetine" in finding.advice and "40 mg" in finding.advice
    assert "ripiprazole" not in finding.advice
    aripiprazole = _findings("aripiprazole", "paroxetine")["cyp"]
    assert "aripiprazole" in aripiprazole.advice.lower() and "atomoxetine" not in aripiprazole.advice


def test_member_advice_is_shown_only_for_that_member() -> None:
    fluoxetine = _findings("phenelzine", "fluoxetine")["pair"]
    sertraline = _findings("phenelzine", "sertraline")["pair"]
    assert "5 weeks" in fluoxetine.advice and "fluoxetine" not in sertraline.advice


def test_carbamazepine_advice_is_specific_to_each_antipsychotic() -> None:
    # Quetiapine label: up to 5-fold dose with strong CYP3A4 inducers; aripiprazole label: double the dose
    quetiapine = _class_finding("cyp", "carbamazepine", "quetiapine")
    aripiprazole = _class_finding("cyp", "carbamazepine", "aripiprazole")
    assert quetiapine.severity == aripiprazole.severity == "major"
    assert "5-fold" in quetiapine.advice and "aripiprazole" not in quetiapine.advice
    assert "Double the aripiprazole" in aripiprazole.advice and "quetiapine" not in aripiprazole.advice


# ------------------------------------------------------------------------------------------------ class rules


@pytest.mark.parametrize(
    ("drugs", "severity"),
    [
        (("quetiapine", "methadone"), "major"),  # quetiapine label: avoid with methadone [quetiapine-label-qt]
        (("haloperidol", "methadone"), "major"),  # both Known risk [crediblemeds-copy-2026]
        (("levofloxacin", "escitalopram"), "major"),  # both Known risk
        (("ondansetron", "sertraline"), "moderate"),  # Known with Conditional
        (("Zithromax", "citalopram"), "major"),  # citalopram: not recommended with QT drugs [citalopram-fda-2011]
    ],
)
def test_qt_rule(drugs: tuple[str, str], severity: str) -> None:
    finding = _class_finding("qt", *drugs)
    assert finding.severity == severity and "ECG" in finding.advice
    assert any("CredibleMeds" in source for source in finding.source)


def test_qt_rule_needs_a_known_risk_drug() -> None:
    # CredibleMeds advises decision support to use the Known Risk category [crediblemeds-definitions]
    assert "qt" not in _findings("quetiapine", "sertraline")
    assert "qt" not in _findings("risperidone", "lithium")


def test_citalopram_qt_advice_carries_the_fda_limits() -> None:
    finding = _findings("citalopram", "methadone")["qt"]
    assert "20 mg/day over 60" in finding.advice and "methadone" in finding.advice


@pytest.mark.parametrize(
    ("drugs", "severity"),
    [
        (("sertraline", "venlafaxine"), "major"),  # two serotonin reuptake inhibitors
        (("sertraline", "fentanyl"), "moderate"),  # FDA 2016: fentanyl among opioids with serotonin syndrome
        (("vortioxetine", "duloxetine"), "major"),  # neither is in the pair table
        (("escitalopram", "St John's Wort"), "moderate"),
    ],
)
def test_serotonergic_rule(drugs: tuple[str, str], severity: str) -> None:
    finding = _class_finding("serotonergic", *drugs)
    assert finding.severity == severity and "serotonin syndrome" in finding.advice


def test_weakly_serotonergic_pairs_are_not_flagged() -> None:
    assert "serotonergic" not in _findings("trazodone", "lithium")


@pytest.mark.parametrize(
    ("drugs", "severity"),
    [
        (("phenelzine", "sumatriptan"), "contraindicated"),  # sumatriptan label: MAO-A inhibitors [triptan-mao]
        (("phenelzine", "clomipramine"), "contraindicated"),  # TCA class labeling 2012 [fda-2012-tca-labeling]
        (("tranylcypromine", "rizatriptan"), "contraindicated"),
        (("Emsam", "pseudoephedrine"), "contraindicated"),  # sympathomimetic with an MAOI [maoi-labels]
        (("isocarboxazid", "cyclobenzaprine"), "contraindicated"),
        (("phenelzine", "selegiline"), "contraindicated"),  # two MAOIs
        (("phenelzine", "naratriptan"), "moderate"),  # not an MAO substrate: serotonergic only
        (("linezolid", "tramadol"), "major"),  # linezolid label: serotonergic drugs only with close observation
    ],
)
def test_maoi_rule(drugs: tuple[str, str], severity: str) -> None:
    assert _class_finding("maoi", *drugs).severity == severity


def test_maoi_pairs_in_the_table_keep_their_own_advice() -> None:
    found = _findings("isocarboxazid", "dextromethorphan")
    assert found["pair"].severity == "contraindicated" and "maoi" not in found and "serotonergic" not in found


@pytest.mark.parametrize(
    ("drugs", "severity", "phrase"),
    [
        (("oxycodone", "gabapentin"), "major", "FDA (2019)"),  # [fda-2019-gabapentinoids]
        (("hydromorphone", "Lyrica"), "major", "FDA (2019)"),
        (("methadone", "quetiapine"), "major", "boxed warning"),  # opioid label: antipsychotics [opioid-labels-cns]
        (("zolpidem", "lorazepam"), "moderate", "additive CNS depression"),
        (("gabapentin", "clonazepam"), "moderate", "FDA (2019)"),
        (("buprenorphine/naloxone", "mirtazapine"), "moderate", "do not withhold"),
    ],
)
def test_cns_depressant_rule(drugs: tuple[str, str], severity: str, phrase: str) -> None:
    finding = _class_finding("cns_depressant", *drugs)
    assert finding.severity == severity and phrase in finding.advice


def test_two_merely_sedating_drugs_are_not_flagged() -> None:
    assert "cns_depressant" not in _findings("quetiapine", "mirtazapine")


@pytest.mark.parametrize(
    ("drugs", "severity", "phrase"),
    [
        (("alprazolam", "voriconazole"), "major", "Avoid"),  # [alprazolam-label-cyp3a]
        (("Xanax", "clarithromycin"), "major", "Avoid"),
        (("alprazolam", "fluvoxamine"), "moderate", "halving"),
        (("triazolam", "clarithromycin"), "contraindicated", "triazolam"),
        (("quetiapine", "clarithromycin"), "major", "one sixth"),
        (("clozapine", "fluvoxamine"), "major", "one third"),
        (("clozapine", "ciprofloxacin"), "major", "clozapine level"),
        (("tizanidine", "ciprofloxacin"), "contraindicated", "tizanidine"),
        (("lurasidone", "diltiazem"), "moderate", "80 mg/day"),
        (("citalopram", "fluconazole"), "major", "20 mg/day"),
        (("escitalopram", "fluconazole"), "moderate", "strong CYP2C19 inhibitor"),  # default rule
        (("Paxlovid", "fentanyl"), "major", "respiratory depression"),
    ],
)
def test_cyp_rule(drugs: tuple[str, str], severity: str, phrase: str) -> None:
    finding = _class_finding("cyp", *drugs)
    assert finding.severity == severity and phrase in finding.advice


def test_ritonavir_with_alprazolam_uses_the_specific_pair() -> None:
    found = _findings("ritonavir", "alprazolam")
    assert found["pair"].severity == "major" and "cyp" not in found


@pytest.mark.parametrize(
    ("drugs", "drug_class"),
    [
        (("risperidone", "olanzapine"), "antipsychotic"),
        (("haloperidol", "aripiprazole"), "antipsychotic"),
        (("sertraline", "fluoxetine"), "SSRI"),
        (("lorazepam", "clonazepam"), "benzodiazepine"),
        (("ibuprofen", "Aleve"), "NSAID"),
    ],
)
def test_duplicate_therapy_rule(drugs: tuple[str, str], drug_class: str) -> None:
    finding = _class_finding("duplicate_therapy", *drugs)
    assert finding.severity == "moderate" and f"both {drug_class}s" in finding.advice


def test_same_ingredient_in_two_products_is_a_duplicate() -> None:
    finding = _findings("Percocet", "Tylenol")["duplicate_therapy"]
    assert "acetaminophen" in finding.advice and finding.drugs == ("Percocet", "Tylenol")


def test_combination_products_are_screened_by_ingredient() -> None:
    # Percocet = oxycodone + acetaminophen: the opioid meets the benzodiazepine pair
    assert _findings("Percocet", "alprazolam")["pair"].severity == "major"
    assert _findings("lisinopril/HCTZ", "lithium")["pair"].severity == "major"


# ------------------------------------------------------------------------------------------------ unknown


def test_unknown_medications_are_reported_not_passed() -> None:
    found = clinical.check_interactions(["sertraline", "Zorblaxin 20 mg"])
    assert [(i.kind, i.severity, i.drugs) for i in found] == [("unknown", "unknown", ("sertraline", "Zorblaxin 20 mg"))]
    assert "Zorblaxin 20 mg is not in the drug reference" in found[0].advice and "sertraline" in found[0].advice


def test_known_part_of_a_partly_unknown_combination_is_still_screened() -> None:
    found = _findings("oxycodone/zorblaxin", "lorazepam")
    assert found["pair"].severity == "major" and "zorblaxin is not in the drug reference" in found["unknown"].advice


def test_unknown_findings_sort_after_real_ones() -> None:
    found = clinical.check_interactions(["zorblaxin", "sertraline", "phenelzine"])
    assert [i.severity for i in found] == ["contraindicated", "unknown", "unknown"]


# ------------------------------------------------------------------------------------------------ API


def test_interaction_keeps_its_public_shape() -> None:
    legacy = clinical.Interaction(("a", "b"), "major", "advice", None, ())
    assert legacy.kind == "pair" and legacy.drugs == ("a", "b")
    assert set(clinical.INTERACTION_KINDS) >= {
        "pair",
        "qt",
        "serotonergic",
        "cns_depressant",
        "cyp",
        "duplicate_therapy",
        "maoi",
        "unknown",
    }
    assert {"tramadol", "linezolid", "candesartan", "sertraline"} <= clinical.known_interacting_names()


def test_every_finding_among_all_known_drugs_has_a_known_kind_severity_and_source(
    all_known_findings: list[clinical.Interaction],
) -> None:
    assert all_known_findings
    for interaction in all_known_findings:
        assert interaction.kind in clinical.INTERACTION_KINDS
        assert interaction.severity in ("contraindicated", "major", "moderate")
        assert interaction.advice.strip()
        if interaction.kind != "pair":
            assert interaction.source, interaction
