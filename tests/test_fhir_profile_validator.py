"""The offline US Core checker finds what it claims to check: each rule fails on a resource broken that way."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.fhir_profile_validator import check_all

UC = "http://hl7.org/fhir/us/core/StructureDefinition/"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
VITAL = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}

PATIENT: dict[str, Any] = {
    "resourceType": "Patient", "id": "1", "meta": {"profile": [UC + "us-core-patient"]},
    "extension": [
        {"url": UC + "us-core-race", "extension": [
            {"url": "ombCategory", "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238", "code": "2106-3"}},
            {"url": "text", "valueString": "White"}]},
        {"url": UC + "us-core-birthsex", "valueCode": "F"},
    ],
    "identifier": [{"system": "urn:iop:mrn", "value": "IOP-1"}],
    "name": [{"family": "Doe", "given": ["Jo"]}],
    "telecom": [{"system": "phone", "value": "(555) 555-0100", "use": "mobile"}],
    "gender": "female",
}
ORDER: dict[str, Any] = {
    "resourceType": "MedicationRequest", "id": "1", "meta": {"profile": [UC + "us-core-medicationrequest"]},
    "status": "active", "intent": "order", "reportedBoolean": False,
    "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1"},
                                             {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "2"}]},
    "subject": {"reference": "Patient/1"}, "requester": {"reference": "Practitioner/2"},
}
PRESSURE: dict[str, Any] = {
    "resourceType": "Observation", "id": "bp", "meta": {"profile": [UC + "us-core-blood-pressure"]},
    "status": "final", "category": [VITAL],
    "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
    "subject": {"reference": "Patient/1"}, "effectiveDateTime": "2026-01-02T10:00:00Z",
    "component": [
        {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
         "valueQuantity": {"value": 120, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}},
        {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
         "valueQuantity": {"value": 80, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}},
    ],
}
WEIGHT: dict[str, Any] = {
    "resourceType": "Observation", "id": "w", "meta": {"profile": [UC + "us-core-body-weight"]},
    "status": "final", "category": [VITAL], "code": {"coding": [{"system": LOINC, "code": "29463-7"}]},
    "subject": {"reference": "Patient/1"}, "effectiveDateTime": "2026-01-02",
    "valueQuantity": {"value": 70, "unit": "kg", "system": UCUM, "code": "kg"},
}


def _broken(resource: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    copied = copy.deepcopy(resource)
    change(copied)
    return copied


def test_valid_resources_pass() -> None:
    report = check_all([PATIENT, ORDER, PRESSURE, WEIGHT])
    assert report.issues == []
    assert dict(report.counts) == {"us-core-patient": 1, "us-core-medicationrequest": 1,
                                   "us-core-blood-pressure": 1, "us-core-body-weight": 1}


@pytest.mark.parametrize(
    ("resource", "change", "rule"),
    [
        (PATIENT, lambda r: r.pop("meta"), "meta.profile"),
        (PATIENT, lambda r: r.pop("identifier"), "cardinality"),
        (PATIENT, lambda r: r["identifier"][0].pop("system"), "cardinality"),
        (PATIENT, lambda r: r["telecom"][0].pop("value"), "cardinality"),
        (PATIENT, lambda r: r.update(gender="F"), "binding"),
        (PATIENT, lambda r: r["extension"][0]["extension"].pop(), "us-core-race-text"),
        (PATIENT, lambda r: r["extension"][0]["extension"][0]["valueCoding"].update(code="white"), "binding"),
        (PATIENT, lambda r: r["extension"][1].update(valueCode="female"), "binding"),
        (PATIENT, lambda r: r.update(name=[{"text": "Jo"}]), "us-core-6"),
        (ORDER, lambda r: r.pop("requester"), "us-core-21"),
        (ORDER, lambda r: r.update(intent="prescribed"), "binding"),
        (ORDER, lambda r: r.update(subject={"reference": "Group/1"}), "reference"),
        (PRESSURE, lambda r: r["component"].pop(), "slice"),
        (PRESSURE, lambda r: r["component"][0]["valueQuantity"].update(code="mmHg"), "fixed"),
        (PRESSURE, lambda r: r["component"][1].pop("valueQuantity"), "vs-3"),
        (PRESSURE, lambda r: r.update(category=[{"text": "vitals"}]), "slice"),
        (PRESSURE, lambda r: r.update(effectiveDateTime="2026-01"), "vs-1"),
        (WEIGHT, lambda r: r["code"]["coding"][0].update(code="3141-9"), "pattern"),
        (WEIGHT, lambda r: r["valueQuantity"].update(code="kilogram"), "binding"),
        (WEIGHT, lambda r: r["valueQuantity"].pop("system"), "cardinality"),
        (WEIGHT, lambda r: r.update(status="done"), "binding"),
    ],
)
def test_each_rule_fails_a_resource_broken_that_way(
    resource: dict[str, Any], change: Callable[[dict[str, Any]], None], rule: str
) -> None:
    report = check_all([_broken(resource, change)])
    assert rule in {issue.rule for issue in report.errors}, report.issues


def test_an_order_coded_only_at_ingredient_level_is_a_warning_not_an_error() -> None:
    report = check_all([_broken(ORDER, lambda r: r["medicationCodeableConcept"]["coding"].pop())])
    assert report.errors == []
    assert [issue.rule for issue in report.warnings] == ["extensible-rxnorm-clinical-drug"]
