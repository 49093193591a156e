"""FHIR R4 export: a seeded patient's Bundle and the bulk NDJSON validate and match the database rows."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import Engine, func, select

import clinical
from clinical import interop
from db.auth import actor_for
from db.engine import read_session
from db.fhir.bulk import export_ndjson
from db.models import (
    Allergy,
    Assessment,
    AuditEvent,
    Diagnosis,
    DoseChange,
    LabOrder,
    LabResult,
    Patient,
    Prescription,
    User,
    Visit,
)
from db.permissions import Actor, PermissionDenied
from db.queries.fhir import BULK_RESOURCE_TYPES, patient_bundle, program_resources
from seed.generator import generate
from tests.factories import make_patient, make_user
from tests.statement_counter import count_statements


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    generate(engine, seed=7, patients=12)
    return engine


def _richest_patient(engine: Engine) -> tuple[int, Actor]:
    """The seeded patient with the most lab results and prescriptions (so every resource type is exercised)."""
    with read_session(engine) as session:
        labs = select(LabResult.patient_id, func.count().label("n")).group_by(LabResult.patient_id).subquery()
        patient = session.scalars(
            select(Patient)
            .outerjoin(labs, labs.c.patient_id == Patient.id)
            .where(Patient.prescriber_id.is_not(None))
            .order_by(func.coalesce(labs.c.n, 0).desc(), Patient.id)
            .limit(1)
        ).one()
        return patient.id, actor_for(session.get(User, patient.prescriber_id))


def _by_type(bundle: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        grouped.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    return grouped


def _codes(resource: dict[str, Any], key: str = "code") -> set[tuple[str, str]]:
    return {(coding["system"], coding["code"]) for coding in resource[key].get("coding", [])}


def test_a_seeded_patients_bundle_validates_and_matches_the_database(seeded: Engine) -> None:
    patient_id, prescriber = _richest_patient(seeded)
    bundle = patient_bundle(prescriber, patient_id)

    Bundle.model_validate(bundle)  # R4 structure, cardinality and required elements, entries included
    assert bundle["type"] == "collection"
    full_urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(set(full_urls)) == len(full_urls)
    references = {
        value for entry in bundle["entry"] for value in _references(entry["resource"]) if value.startswith("urn:")
    }
    assert references <= set(full_urls), "every reference resolves inside the bundle"
    resources = _by_type(bundle)

    with read_session(seeded) as session:
        patient = session.get(Patient, patient_id)
        diagnoses = session.scalars(select(Diagnosis).where(Diagnosis.patient_id == patient_id)).all()
        allergies = session.scalars(select(Allergy).where(Allergy.patient_id == patient_id)).all()
        prescriptions = session.scalars(select(Prescription).where(Prescription.patient_id == patient_id)).all()
        changes = session.scalars(select(DoseChange).where(DoseChange.patient_id == patient_id)).all()
        scores = session.scalars(
            select(Assessment).where(Assessment.patient_id == patient_id, Assessment.instrument.in_(("PHQ-9", "GAD-7")))
        ).all()
        labs = session.scalars(select(LabResult).where(LabResult.patient_id == patient_id)).all()
        pending = session.scalars(
            select(LabOrder).where(LabOrder.patient_id == patient_id, LabOrder.status == "pending")
        ).all()
        visits = session.scalars(select(Visit).where(Visit.patient_id == patient_id)).all()

    (fhir_patient,) = resources["Patient"]
    assert fhir_patient["identifier"] == [{"use": "usual", "system": interop.MRN_SYSTEM, "value": patient.mrn}]
    assert fhir_patient["birthDate"] == patient.date_of_birth.isoformat()

    conditions = resources.get("Condition", [])
    assert sorted(code for c in conditions for _, code in _codes(c)) == sorted(d.icd10_code for d in diagnoses)
    assert all(system == interop.ICD10CM_SYSTEM for c in conditions for system, _ in _codes(c))
    assert len(resources.get("AllergyIntolerance", [])) == len(allergies)

    program = [p for p in prescriptions if p.is_psychiatric]
    dose_steps = Counter(c.prescription_id for c in changes if c.change_type != "stop" and c.new_dose)
    all_requests = resources.get("MedicationRequest", [])
    requests = [r for r in all_requests if not r["reportedBoolean"]]
    assert len(requests) == sum(max(1, dose_steps[p.id]) for p in program)
    assert all(r["intent"] == "order" and r["requester"]["reference"].startswith("urn:uuid:") for r in requests)
    program_codes = {p.rxnorm for p in program}
    ingredient_codes = {
        code for r in requests for _, code in _codes(r, "medicationCodeableConcept") if code in program_codes
    }
    assert ingredient_codes == {p.rxnorm for p in program if p.rxnorm}
    for prescription in program:
        course = [r for r in requests if r["groupIdentifier"]["value"] == str(prescription.id)]
        newest = course[-1]
        assert newest["status"] == ("active" if prescription.status == "active" else "stopped")
        assert {r["status"] for r in course[:-1]} <= {"completed"}
        assert [r.get("priorPrescription") is None for r in course] == [True] + [False] * (len(course) - 1)
        if prescription.status == "active":
            dose = newest["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
            assert (dose["value"], dose["unit"]) == (prescription.dose, prescription.unit)
    outside = [r for r in all_requests if r["reportedBoolean"]]
    assert len(outside) == len(prescriptions) - len(program)
    assert {r["intent"] for r in outside} <= {"plan"}
    assert "MedicationStatement" not in resources

    observations = resources.get("Observation", [])
    surveys = [o for o in observations if o["category"][0]["coding"][0]["code"] == "survey" and "hasMember" in o]
    assert sorted(o["valueInteger"] for o in surveys) == sorted(s.total for s in scores)
    for survey in surveys:
        instrument = "PHQ-9" if _codes(survey) == {(interop.LOINC_SYSTEM, "44261-6")} else "GAD-7"
        info = clinical.instrument_info(instrument)
        assert [c["code"]["coding"][0]["code"] for c in survey["component"]] == list(info.item_loinc)
        assert sum(c["valueInteger"] for c in survey["component"]) == survey["valueInteger"]
        items = [o for o in observations if o["id"].startswith(survey["id"] + "-")]
        assert len(survey["hasMember"]) == len(items)
        assert [i["code"]["coding"][0]["code"] for i in items] == list(info.item_loinc)
        scores_by_answer = {a.code: a.score for a in interop.answer_codes(instrument)}
        assert [scores_by_answer[i["valueCodeableConcept"]["coding"][0]["code"]] for i in items] == [
            c["valueInteger"] for c in survey["component"]
        ]
    provenances = resources.get("Provenance", [])
    self_reports = [s for s in scores if s.source == "self-report"]
    assert len(provenances) == len(self_reports)
    assert {p["target"][0]["reference"] for p in provenances} <= {
        full_url for full_url, resource in _full_urls(bundle) if resource["resourceType"] == "Observation"
    }
    lab_observations = [o for o in observations if o["category"][0]["coding"][0]["code"] == "laboratory"]
    assert len(lab_observations) == len(labs) > 0
    for observation in lab_observations:
        if "valueCodeableConcept" in observation:  # qualitative: Positive / Negative, no interpretation
            (result,) = observation["valueCodeableConcept"]["coding"]
            assert (result["system"], result["code"]) in {("http://snomed.info/sct", "10828004"),
                                                          ("http://snomed.info/sct", "260385009")}
            continue
        quantity = observation["valueQuantity"]
        assert quantity["system"] == interop.UCUM_SYSTEM and quantity["code"] == quantity["unit"]
        (interpretation,) = observation["interpretation"][0]["coding"]
        assert interpretation["system"] == interop.V3_INTERPRETATION_SYSTEM
        assert interpretation["code"] in {"N", "L", "H", "LL", "HH"}
    assert len(resources.get("ServiceRequest", [])) == len(pending)
    encounters = resources.get("Encounter", [])
    assert len(encounters) == len(visits)
    assert {e["class"]["code"] for e in encounters} == {"VR"}
    vitals = [o for o in observations if o["category"][0]["coding"][0]["code"] == "vital-signs"]
    weights = [v for v in visits if v.weight_kg is not None]
    assert len([o for o in vitals if o["code"]["coding"][0]["code"] == "29463-7"]) == len(weights)
    pressures = [o for o in vitals if o["code"]["coding"][0]["code"] == "85354-9"]
    assert len(pressures) == len([v for v in visits if v.bp_systolic is not None])
    assert all([c["code"]["coding"][0]["code"] for c in o["component"]] == ["8480-6", "8462-4"] for o in pressures)
    practitioners = [resource for _, resource in _full_urls(bundle) if resource["resourceType"] == "Practitioner"]
    assert practitioners and all(resource.get("meta", {}).get("profile") for _, resource in _full_urls(bundle))


def _full_urls(bundle: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(entry["fullUrl"], entry["resource"]) for entry in bundle["entry"]]


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [ref for item in value.values() for ref in _references(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in _references(item)]
    return []


def test_bulk_export_writes_one_valid_ndjson_file_per_type_and_is_audited(seeded: Engine, tmp_path: Path) -> None:
    counts = export_ndjson(None, tmp_path)

    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [item["type"] for item in manifest["output"]] == [*BULK_RESOURCE_TYPES, "Questionnaire"]
    for resource_type in (*BULK_RESOURCE_TYPES, "Questionnaire"):
        lines = (tmp_path / f"{resource_type}.ndjson").read_text().splitlines()
        assert len(lines) == counts[resource_type]
        model = get_fhir_model_class(resource_type)
        for line in lines:
            resource = json.loads(line)
            assert resource["resourceType"] == resource_type
            model.model_validate(resource)
    with read_session(seeded) as session:
        assert counts["Patient"] == session.scalar(select(func.count()).select_from(Patient)) == 12
        assert counts["Encounter"] == session.scalar(select(func.count()).select_from(Visit))
        (event,) = session.scalars(select(AuditEvent).where(AuditEvent.record_type == "fhir_bulk_ndjson")).all()
    assert (event.action, event.user_id, event.outcome) == ("export", None, "success")
    assert event.detail.startswith(f"{sum(counts.values())} rows; 12 patients")


def test_bulk_export_reads_a_constant_number_of_statements_per_batch(seeded: Engine) -> None:
    with count_statements(seeded) as one_batch:
        assert len(list(program_resources(None, batch_size=100))) == 12
    with count_statements(seeded) as three_batches:
        assert len(list(program_resources(None, batch_size=5))) == 12
    # 10 per batch (patients + 8 tables + the clinicians they name) and one final empty page: no statement
    # per patient.
    assert len(one_batch) == 10 + 1
    assert len(three_batches) == 3 * 10 + 1


def test_export_is_refused_outside_the_caseload_and_for_roles_without_the_capability(engine: Engine) -> None:
    mine = make_user(engine, "prescriber")
    other = make_user(engine, "prescriber")
    admin = make_user(engine, "admin")
    own = make_patient(engine, prescriber=mine)
    make_patient(engine, prescriber=other)

    with pytest.raises(PermissionDenied):
        patient_bundle(other, own)
    with pytest.raises(PermissionDenied):
        patient_bundle(admin, own)
    with pytest.raises(PermissionDenied):
        list(program_resources(admin))
    assert [patient_id for patient_id, _ in program_resources(mine)] == [own]
    with read_session(engine) as session:
        denied = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
    assert {(event.user_id, event.patient_id) for event in denied} >= {(other.user_id, own), (admin.user_id, own)}
