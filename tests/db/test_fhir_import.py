"""FHIR R4 import: self-reports (scoring, flags, dedupe, per-resource rejections, permissions), onboarding,
and a full round trip export -> import into an empty database -> export with the same clinical content."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from clinical import interop
from db.commands import InvalidInput
from db.commands.fhir import import_self_reports, onboard_patient
from db.engine import make_engine, read_session
from db.models import Assessment, AuditEvent, Flag, Patient, Prescription
from db.permissions import PermissionDenied
from db.queries.fhir import program_resources
from seed.generator import generate
from tests.factories import make_patient, make_team, make_user

PHQ9_ITEMS = ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8")
GAD7_ITEMS = ("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7")


def phq9_observation(mrn: str, answers: list[int], identifier: str, *, when: str = "2026-01-05T18:00:00Z") -> dict:
    return {
        "resourceType": "Observation",
        "id": identifier,
        "identifier": [{"system": "https://portal.example.org/reports", "value": identifier}],
        "status": "final",
        "category": [{"coding": [{"system": interop.OBSERVATION_CATEGORY_SYSTEM, "code": "survey"}]}],
        "code": {"coding": [{"system": interop.LOINC_SYSTEM, "code": "44261-6"}]},
        "subject": {"identifier": {"system": interop.MRN_SYSTEM, "value": mrn}},
        "effectiveDateTime": when,
        "valueInteger": sum(answers),
        "component": [
            {"code": {"coding": [{"system": interop.LOINC_SYSTEM, "code": code}]}, "valueInteger": answer}
            for code, answer in zip(PHQ9_ITEMS, answers, strict=True)
        ],
    }


def gad7_response(patient_ref: str, answer_codes: list[str], response_id: str) -> dict:
    return {
        "resourceType": "QuestionnaireResponse",
        "id": response_id,
        "questionnaire": "http://loinc.org/q/69737-5",
        "status": "completed",
        "subject": {"reference": patient_ref},
        "authored": "2026-01-06T09:30:00Z",
        "item": [
            {"linkId": code, "answer": [{"valueCoding": {"system": interop.LOINC_SYSTEM, "code": answer}}]}
            for code, answer in zip(GAD7_ITEMS, answer_codes, strict=True)
        ],
    }


def ndjson(*resources: dict | str) -> str:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in resources) + "\n"


@pytest.fixture
def team_setup(engine: Engine) -> dict:
    team = make_team(engine)
    nurse = make_user(engine, "nurse", team_id=team)
    prescriber = make_user(engine, "prescriber", team_id=team, username="dr_team")
    ours = make_patient(engine, prescriber=prescriber, nurse=nurse, mrn="MRN-OURS")
    far_prescriber = make_user(engine, "prescriber", team_id=make_team(engine))
    elsewhere = make_patient(engine, prescriber=far_prescriber, mrn="MRN-FAR")
    return dict(nurse=nurse, prescriber=prescriber, ours=ours, elsewhere=elsewhere)


def test_a_self_report_with_a_positive_item_9_is_scored_stored_and_raises_an_urgent_flag(
    engine: Engine, team_setup: dict
) -> None:
    results = import_self_reports(
        team_setup["nurse"], json.dumps(phq9_observation("MRN-OURS", [1, 1, 1, 1, 1, 1, 1, 1, 1], "r-1"))
    )

    assert [(r.status, r.instrument, r.total) for r in results] == [("imported", "PHQ-9", 9)]
    assert "urgent self_harm" in results[0].flags
    with read_session(engine) as session:
        (stored,) = session.scalars(select(Assessment)).all()
        flags = session.scalars(select(Flag).where(Flag.patient_id == team_setup["ours"])).all()
        actions = session.scalars(select(AuditEvent.action)).all()
    assert (stored.source, stored.external_id, stored.total, stored.visit_id) == (
        "self-report",
        "https://portal.example.org/reports|r-1",
        9,
        None,
    )
    assert [(flag.kind, flag.severity, flag.state) for flag in flags] == [("self_harm", "urgent", "open")]
    assert {"import_self_report", "flag_raised", "import_self_reports"} <= set(actions)


def test_a_late_report_is_compared_with_the_score_before_it_not_the_newest(engine: Engine, team_setup: dict) -> None:
    # Stored first: a recent low score. Arriving late: an older, higher one, then one a week after that.
    import_self_reports(
        team_setup["nurse"], json.dumps(phq9_observation("MRN-OURS", [0] * 9, "r-new", when="2026-03-01T09:00:00Z"))
    )
    late = import_self_reports(
        team_setup["nurse"],
        ndjson(
            phq9_observation("MRN-OURS", [2, 2, 2, 2, 1, 1, 0, 0, 0], "r-old", when="2026-01-01T09:00:00Z"),
            phq9_observation("MRN-OURS", [0, 0, 0, 0, 0, 0, 0, 0, 0], "r-week", when="2026-01-08T09:00:00Z"),
        ),
    )
    # 10 against nothing before it: no rise (against the newest stored 0 it would have read as +10).
    assert [(r.status, r.total, r.flags) for r in late] == [("imported", 10, ""), ("imported", 0, "")]
    with read_session(engine) as session:
        kinds = session.scalars(select(Flag.kind).where(Flag.patient_id == team_setup["ours"])).all()
    assert "worsening_score" not in kinds


def test_duplicates_are_stored_once_and_bad_resources_are_rejected_while_good_ones_import(
    engine: Engine, team_setup: dict
) -> None:
    nurse = team_setup["nurse"]
    mrn = [{"system": interop.MRN_SYSTEM, "value": "MRN-OURS"}]
    patient = {"resourceType": "Patient", "id": "p1", "identifier": mrn}
    gad7 = gad7_response(
        "Patient/p1", ["LA6569-3", "LA6569-3", "LA6570-1", "LA6568-5", "LA6568-5", "LA6571-9", "LA6569-3"], "gad-1"
    )
    not_final = {**phq9_observation("MRN-OURS", [0] * 9, "r-2"), "status": None}
    unmatched = phq9_observation("MRN-NOBODY", [0] * 9, "r-3")
    outside_team = phq9_observation("MRN-FAR", [0] * 9, "r-4")
    wrong_total = {**phq9_observation("MRN-OURS", [1] * 9, "r-5"), "valueInteger": 3}
    missing_item = phq9_observation("MRN-OURS", [0] * 9, "r-6")
    missing_item["component"] = missing_item["component"][:8]
    upload = ndjson(patient, gad7, gad7, "{not json", not_final, unmatched, outside_team, wrong_total, missing_item)

    results = import_self_reports(nurse, upload)

    by_resource = [(r.resource, r.status) for r in results]
    assert by_resource == [
        ("QuestionnaireResponse/gad-1", "imported"),
        ("QuestionnaireResponse/gad-1", "duplicate"),
        ("line 4", "rejected"),
        ("Observation/r-2", "rejected"),
        ("Observation/r-3", "rejected"),
        ("Observation/r-4", "rejected"),
        ("Observation/r-5", "rejected"),
        ("Observation/r-6", "rejected"),
    ]
    reasons = [r.detail for r in results]
    assert "not valid JSON" in reasons[2]
    assert "not valid FHIR R4" in reasons[3] and "status" in reasons[3]
    # An unknown MRN and a patient outside the nurse's team get the same answer: nothing is revealed.
    assert reasons[4] == "no patient with MRN MRN-NOBODY in your scope"
    assert reasons[5] == "no patient with MRN MRN-FAR in your scope"
    assert "stated total 3 differs from the item sum 9" in reasons[6]
    assert "item answer(s) 9 missing" in reasons[7]
    assert (results[0].instrument, results[0].total) == ("GAD-7", 1 + 1 + 2 + 0 + 0 + 3 + 1)

    again = import_self_reports(nurse, upload)
    assert [r.status for r in again][:2] == ["duplicate", "duplicate"]
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Assessment)) == 1


def test_import_needs_the_capability_and_onboarding_is_for_admins(engine: Engine, team_setup: dict) -> None:
    supervisor = make_user(engine, "supervisor")
    report = json.dumps(phq9_observation("MRN-OURS", [0] * 9, "r-9"))
    with pytest.raises(PermissionDenied):
        import_self_reports(supervisor, report)
    with pytest.raises(PermissionDenied):
        onboard_patient(team_setup["prescriber"], json.dumps(_onboarding_bundle()))
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Assessment)) == 0
        denied = session.scalars(select(AuditEvent.action).where(AuditEvent.outcome == "denied")).all()
    assert sorted(denied) == ["import_patients", "import_self_reports"]


def _onboarding_bundle(**patient_fields: Any) -> dict:
    patient = {
        "resourceType": "Patient",
        "id": "new",
        "identifier": [{"system": interop.MRN_SYSTEM, "value": "MRN-NEW"}],
        "name": [{"family": "Synthetic", "given": ["Sam"]}],
        "gender": "male",
        "birthDate": "1988-04-02",
        "address": [{"state": "NY"}],
        **patient_fields,
    }
    ref = {"reference": "Patient/new"}
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": patient},
            {
                "resource": {
                    "resourceType": "Condition",
                    "subject": ref,
                    "code": {"coding": [{"system": interop.ICD10CM_SYSTEM, "code": "F33.1"}]},
                }
            },
            {
                "resource": {
                    "resourceType": "AllergyIntolerance",
                    "patient": ref,
                    "code": {"text": "penicillin"},
                    "reaction": [{"manifestation": [{"text": "hives"}], "severity": "moderate"}],
                }
            },
            {
                "resource": {
                    "resourceType": "MedicationStatement",
                    "status": "active",
                    "subject": ref,
                    "medicationCodeableConcept": {"coding": [{"system": interop.RXNORM_SYSTEM, "code": "36437"}]},
                    "dosage": [
                        {
                            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                            "doseAndRate": [{"doseQuantity": {"value": 50, "unit": "mg"}}],
                        }
                    ],
                }
            },
        ],
    }


def test_onboarding_creates_the_patient_with_coded_data_or_nothing(engine: Engine) -> None:
    admin = make_user(engine, "admin")
    prescriber = make_user(engine, "prescriber", team_id=make_team(engine), username="dr_onboard")
    too_much = _onboarding_bundle()
    too_much["entry"][3]["resource"]["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"] = 5000
    unknown = _onboarding_bundle()
    unknown["entry"][3]["resource"]["medicationCodeableConcept"] = {"text": "mystery tonic"}
    for bad in (too_much, unknown, _onboarding_bundle(address=[])):
        with pytest.raises(InvalidInput):
            onboard_patient(admin, json.dumps(bad), prescriber_username="dr_onboard")
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 0

    result = onboard_patient(admin, json.dumps(_onboarding_bundle()), prescriber_username="dr_onboard")

    with read_session(engine) as session:
        patient = session.get(Patient, result.patient_id)
        (prescription,) = session.scalars(select(Prescription)).all()
        assert [(d.icd10_code, d.description, d.is_primary) for d in patient.diagnoses] == [
            ("F33.1", "Major depressive disorder, recurrent, moderate", True)
        ]
        allergies = [(a.substance, a.reaction, a.severity) for a in patient.allergies]
    assert allergies == [("penicillin", "hives", "moderate")]
    assert (patient.prescriber_id, patient.team_id, patient.program_phase) == (
        prescriber.user_id,
        prescriber.team_id,
        "intake",
    )
    assert (prescription.drug, prescription.rxnorm, prescription.dose, prescription.frequency) == (
        "sertraline",
        "36437",
        50.0,
        "once daily",
    )
    with pytest.raises(InvalidInput, match="already in the program"):
        onboard_patient(admin, json.dumps(_onboarding_bundle()))


def _normalize(resources: list[dict]) -> dict[str, Any]:
    """The clinical content the import carries, by MRN, without ids: codes, doses, scores, dates."""
    patients = {r["id"]: r for r in resources if r["resourceType"] == "Patient"}
    mrn_of = {f"Patient/{pid}": p["identifier"][0]["value"] for pid, p in patients.items()}
    content: dict[str, dict[str, list]] = {
        p["identifier"][0]["value"]: {
            "patient": [(p["name"][0]["family"], p["name"][0]["given"], p["birthDate"], p["gender"], p["address"])],
            "conditions": [],
            "allergies": [],
            "medications": [],
            "self_reports": [],
        }
        for p in patients.values()
    }
    for r in resources:
        owner = (r.get("subject") or r.get("patient") or {}).get("reference")
        if owner is None:
            continue
        chart = content[mrn_of[owner]]
        if r["resourceType"] == "Condition":
            chart["conditions"].append((r["code"]["coding"][0]["code"], r["extension"][0]["valueBoolean"]))
        elif r["resourceType"] == "AllergyIntolerance":
            chart["allergies"].append((r["code"]["text"], json.dumps(r.get("reaction"), sort_keys=True)))
        elif r["resourceType"] in ("MedicationRequest", "MedicationStatement") and r["status"] == "active":
            dosage = (r.get("dosageInstruction") or r.get("dosage"))[0]
            chart["medications"].append(
                (
                    r["resourceType"],
                    r["medicationCodeableConcept"]["coding"][0]["code"],
                    dosage["doseAndRate"][0]["doseQuantity"]["value"],
                    dosage["doseAndRate"][0]["doseQuantity"]["unit"],
                    dosage["timing"]["code"]["text"],
                )
            )
        elif r["resourceType"] == "Observation" and r.get("performer"):
            chart["self_reports"].append(
                (
                    r["code"]["coding"][0]["code"],
                    r["effectiveDateTime"],
                    r["valueInteger"],
                    [c["valueInteger"] for c in r["component"]],
                    r["identifier"][0]["value"],
                )
            )
    return {mrn: {key: sorted(values) for key, values in chart.items()} for mrn, chart in content.items()}


def test_export_import_export_keeps_the_clinical_content(
    engine: Engine, sqlite_template_path: Path, tmp_path: Path
) -> None:
    source_path = tmp_path / "source.db"
    shutil.copy(sqlite_template_path, source_path)
    source = make_engine(f"sqlite:///{source_path}")
    generate(source, seed=5, patients=6)
    exported = list(program_resources(None, engine=source))
    source.dispose()
    admin = make_user(engine, "admin")
    make_user(engine, "prescriber", team_id=make_team(engine), username="dr_receiving")

    for _patient_id, resources in exported:
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
        onboard_patient(admin, json.dumps(bundle), prescriber_username="dr_receiving")
    feed = [r for _, resources in exported for r in resources if r["resourceType"] in ("Patient", "Observation")]
    results = import_self_reports(admin, ndjson(*feed))

    self_reports = [r for r in feed if r["resourceType"] == "Observation" and r.get("performer")]
    assert sum(1 for r in results if r.status == "imported") == len(self_reports) > 0
    assert {r.detail for r in results if r.status == "rejected"} == {
        "recorded at an encounter: a clinician-administered score, not a self-report",
        "not a PHQ-9 or GAD-7 (code must be LOINC 44249-1/44261-6 or 69737-5/70274-6)",
    }
    before = _normalize([r for _, resources in exported for r in resources])
    after = _normalize([r for _, resources in program_resources(None) for r in resources])
    assert after == before
    assert sum(len(chart["medications"]) for chart in after.values()) > 0
