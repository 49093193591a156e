"""Interactions by drug and by class, including drugs outside the formulary."""

from __future__ import annotations

import pytest

import clinical


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
    assert [i.severity for i in found] == ["contraindicated", "major", "moderate"]
    assert {frozenset(i.drugs) for i in found} == {
        frozenset({"sertraline", "phenelzine"}),
        frozenset({"lithium", "ibuprofen"}),
        frozenset({"sertraline", "ibuprofen"}),
    }


def test_benzodiazepine_with_buprenorphine_keeps_the_specific_moud_advice() -> None:
    [interaction] = clinical.check_interactions(["clonazepam", "buprenorphine/naloxone"])
    assert interaction.severity == "major" and "do not withhold MOUD" in interaction.advice


def test_no_interaction_no_self_interaction_and_duplicates_ignored() -> None:
    assert clinical.check_interactions(["sertraline", "Sertraline", "lamotrigine"]) == []
    assert clinical.check_interactions([]) == []
