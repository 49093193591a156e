"""FHIR R4 import: self-reports (scoring, flags, dedupe, per-resource rejections, permissions), onboarding,
and a full round trip export -> import into an empty database -> export with the same clinical content."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from clinical import interop
from db.commands import InvalidInput, SafetyBlock
from db.commands.fhir import import_self_reports, onboard_patient
from db.engine import make_engine, read_session
from db.models import Allergy, Amendment, Assessment, AuditEvent, Diagnosis, Flag, Patient, Prescription
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
    implausible = _onboarding_bundle()  # 5 g sertraline is the review's (SafetyBlock); 500 g is not a dose
    implausible["entry"][3]["resource"]["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"] = 500_000
    unknown = _onboarding_bundle()
    unknown["entry"][3]["resource"]["medicationCodeableConcept"] = {"text": "mystery tonic"}
    for bad in (implausible, unknown, _onboarding_bundle(address=[])):
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
        if r["resourceType"] == "Condition":  # the primary diagnosis is exported first
            chart["conditions"].append((r["code"]["coding"][0]["code"], not chart["conditions"]))
        elif r["resourceType"] == "AllergyIntolerance":
            chart["allergies"].append((r["code"]["text"], json.dumps(r.get("reaction"), sort_keys=True)))
        elif r["resourceType"] == "MedicationRequest" and r["status"] == "active":
            dosage = r["dosageInstruction"][0]
            chart["medications"].append(
                (
                    r["reportedBoolean"],
                    r["medicationCodeableConcept"]["coding"][-1]["code"],  # the ingredient (after any SCD)
                    dosage["doseAndRate"][0]["doseQuantity"]["value"],
                    dosage["doseAndRate"][0]["doseQuantity"]["unit"],
                    dosage["timing"]["code"]["text"],
                )
            )
        elif r["resourceType"] == "Observation" and r.get("performer") and "hasMember" in r:  # a total
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

    left_out: set[str] = set()  # medications the safety review leaves to a prescriber: onboarded without them
    for _patient_id, resources in exported:
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
        try:
            onboard_patient(admin, json.dumps(bundle), prescriber_username="dr_receiving")
        except SafetyBlock as refused:
            # Seed 5 has one patient on buprenorphine/naloxone: a controlled substance needs the prescriber's
            # PDMP attestation, which a file cannot give. The patient is onboarded without it, as advised.
            labels = {reason.split(" ", 1)[0] for reason in refused.reasons[:-1]}
            assert all("PDMP" in reason for reason in refused.reasons[:-1]), refused.reasons
            left_out |= labels
            bundle["entry"] = [{"resource": r} for r in resources if f"{r['resourceType']}/{r.get('id')}" not in labels]
            onboard_patient(admin, json.dumps(bundle), prescriber_username="dr_receiving")
    assert len(left_out) == 1
    feed = [r for _, resources in exported for r in resources if r["resourceType"] in ("Patient", "Observation")]
    results = import_self_reports(admin, ndjson(*feed))

    self_reports = [
        r for r in feed if r["resourceType"] == "Observation" and r.get("performer") and "hasMember" in r
    ]
    assert sum(1 for r in results if r.status == "imported") == len(self_reports) > 0
    assert {r.detail for r in results if r.status == "rejected"} == {
        "recorded at an encounter: a clinician-administered score, not a self-report",
        "not a PHQ-9 or GAD-7 (code must be LOINC 44249-1/44261-6 or 69737-5/70274-6)",
    }
    before = _normalize(
        [r for _, resources in exported for r in resources if f"{r['resourceType']}/{r.get('id')}" not in left_out]
    )
    after = _normalize([r for _, resources in program_resources(None) for r in resources])
    assert after == before
    assert sum(len(chart["medications"]) for chart in after.values()) > 0


# --- Issue 12 item 4: a self-report must never hide a self-harm answer ----------------------------------------


def phq9_response(
    mrn: str,
    answers: list[Any],
    identifier: str,
    *,
    status: str = "completed",
    authored: str = "2026-01-05T18:00:00Z",
) -> dict:
    return {
        "resourceType": "QuestionnaireResponse",
        "id": identifier,
        "identifier": {"system": "https://portal.example.org/reports", "value": identifier},
        "questionnaire": "http://loinc.org/q/44249-1",
        "status": status,
        "subject": {"identifier": {"system": interop.MRN_SYSTEM, "value": mrn}},
        "authored": authored,
        "item": [
            {"linkId": code, "answer": [{"valueInteger": answer}]}
            for code, answer in zip(PHQ9_ITEMS, answers, strict=True)
        ],
    }


def _stored(engine: Engine) -> tuple[list[Assessment], list[Flag]]:
    with read_session(engine) as session:
        return (
            list(session.scalars(select(Assessment).order_by(Assessment.id))),
            list(session.scalars(select(Flag).order_by(Flag.id))),
        )


def test_an_item_answered_twice_or_given_two_answers_is_rejected_not_scored_with_the_lower_answer(
    engine: Engine, team_setup: dict
) -> None:
    answered_twice = phq9_response("MRN-OURS", [0] * 8 + [3], "twice")
    answered_twice["item"].append({"linkId": PHQ9_ITEMS[8], "answer": [{"valueInteger": 0}]})
    two_answers = phq9_response("MRN-OURS", [0] * 9, "two-answers")
    two_answers["item"][8]["answer"] = [{"valueInteger": 0}, {"valueInteger": 3}]
    nested_repeat = phq9_response("MRN-OURS", [0] * 8 + [3], "nested")
    nested_repeat["item"][0]["answer"][0]["item"] = [{"linkId": PHQ9_ITEMS[8], "answer": [{"valueInteger": 0}]}]
    repeated_component = phq9_observation("MRN-OURS", [0] * 8 + [3], "component-twice")
    repeated_component["component"].append(
        {"code": {"coding": [{"system": interop.LOINC_SYSTEM, "code": PHQ9_ITEMS[8]}]}, "valueInteger": 0}
    )
    repeated_component["valueInteger"] = 0  # the total a reader taking the last answer would compute
    two_codes = phq9_observation("MRN-OURS", [0] * 9, "two-codes")
    del two_codes["component"][8]["valueInteger"]
    two_codes["component"][8]["valueCodeableConcept"] = {
        "coding": [
            {"system": interop.LOINC_SYSTEM, "code": "LA6568-5"},  # not at all (0)
            {"system": interop.LOINC_SYSTEM, "code": "LA6571-9"},  # nearly every day (3)
        ]
    }

    results = import_self_reports(
        team_setup["nurse"], ndjson(answered_twice, two_answers, nested_repeat, repeated_component, two_codes)
    )

    assert [r.status for r in results] == ["rejected"] * 5, [(r.status, r.detail) for r in results]
    reasons = [r.detail for r in results]
    assert "PHQ-9 item 9 is answered more than once" in reasons[0]
    assert "PHQ-9 item 9 has 2 answers" in reasons[1]
    assert "PHQ-9 item 9 is answered more than once" in reasons[2]
    assert "PHQ-9 item 9 is answered more than once" in reasons[3]
    assert "PHQ-9 item 9" in reasons[4] and "different scores" in reasons[4]
    assert _stored(engine) == ([], [])


@pytest.mark.parametrize("kind", ["QuestionnaireResponse", "Observation"])
def test_a_correction_of_a_stored_report_is_stored_as_a_new_version_rescored_and_flagged(
    engine: Engine, team_setup: dict, kind: str
) -> None:
    from db.commands.visits import previous_totals
    from db.queries.caseload import caseload
    from db.queries.chart import chart_data

    def report(answers: list[int], status: str) -> dict:
        if kind == "QuestionnaireResponse":
            return phq9_response("MRN-OURS", answers, "resp-1", status=status)
        return {**phq9_observation("MRN-OURS", answers, "resp-1"), "status": status}

    nurse = team_setup["nurse"]
    original_answers, corrected_answers = [1, 1, 1, 1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0, 2]
    original = report(original_answers, "completed" if kind == "QuestionnaireResponse" else "final")
    correction = report(corrected_answers, "amended" if kind == "QuestionnaireResponse" else "corrected")
    assert [(r.status, r.total, r.flags) for r in import_self_reports(nurse, json.dumps(original))] == [
        ("imported", 4, "")
    ]

    results = import_self_reports(nurse, json.dumps(correction))

    assert [(r.status, r.total, r.flags) for r in results] == [("amended", 6, "urgent self_harm")]
    assessments, flags = _stored(engine)
    first, second = assessments
    # The original is kept as it was; the correction is a new row that names the row it supersedes.
    assert (first.answers, first.total, first.supersedes_id) == (original_answers, 4, None)
    assert (second.answers, second.total, second.supersedes_id) == (corrected_answers, 6, first.id)
    assert first.external_id == second.external_id == "https://portal.example.org/reports|resp-1"
    assert [(f.kind, f.severity, f.source_id) for f in flags] == [("self_harm", "urgent", second.id)]
    with read_session(engine) as session:
        amendments = session.scalars(select(Amendment)).all()
        actions = session.scalars(select(AuditEvent.action)).all()
        assert previous_totals(session, team_setup["ours"]) == {"PHQ-9": 6}
    assert [(a.target_table, a.target_id, a.field) for a in amendments] == [("assessments", first.id, "answers")]
    assert actions.count("amend_self_report") == 1
    # Trends read only the current version.
    chart = chart_data(team_setup["prescriber"], team_setup["ours"])
    assert chart.assessments["total"].tolist() == [6]
    assert caseload(team_setup["prescriber"])["PHQ-9"].tolist() == [6]
    (exported,) = [  # the total-score Observation (its items follow as members)
        r for _, resources in program_resources(None) for r in resources
        if r["resourceType"] == "Observation" and "hasMember" in r
    ]
    assert (exported["valueInteger"], exported["status"]) == (6, "amended")

    # An identical re-send of either version is a duplicate; a changed report that is not a correction is refused.
    again = import_self_reports(nurse, ndjson(correction, original))
    assert [r.status for r in again] == ["duplicate", "duplicate"]
    changed = report([0] * 9, "completed" if kind == "QuestionnaireResponse" else "final")
    (refused,) = import_self_reports(nurse, json.dumps(changed))
    assert refused.status == "rejected"
    assert "differs from the report already stored with this identifier" in refused.detail
    gad7_as_correction = {
        **gad7_response("Patient/p1", ["LA6568-5"] * 7, "resp-1"),
        "status": "amended",
        "identifier": {"system": "https://portal.example.org/reports", "value": "resp-1"},
        "subject": {"identifier": {"system": interop.MRN_SYSTEM, "value": "MRN-OURS"}},
    }
    (other_instrument,) = import_self_reports(nurse, json.dumps(gad7_as_correction))
    assert (other_instrument.status, other_instrument.detail) == (
        "rejected",
        "the report stored with this identifier (https://portal.example.org/reports|resp-1) is a PHQ-9",
    )
    assert len(_stored(engine)[0]) == 2


def test_two_reports_with_one_identifier_and_different_answers_in_one_file_reject_the_second(
    engine: Engine, team_setup: dict
) -> None:
    first = phq9_observation("MRN-OURS", [0] * 9, "same", when="2026-01-06T09:00:00Z")
    second = phq9_observation("MRN-OURS", [0] * 8 + [3], "same", when="2026-01-05T09:00:00Z")

    results = import_self_reports(team_setup["nurse"], ndjson(first, second))

    assert [r.status for r in results] == ["imported", "rejected"]
    assert "another report in this file has the same identifier" in results[1].detail
    assert [a.answers for a in _stored(engine)[0]] == [[0] * 9]

    # In one file, a correction after its original is stored as a new version of it.
    correction = {**phq9_observation("MRN-OURS", [0] * 8 + [1], "pair"), "status": "amended"}
    pair = import_self_reports(team_setup["nurse"], ndjson(phq9_observation("MRN-OURS", [0] * 9, "pair"), correction))
    assert [(r.status, r.flags) for r in pair] == [("imported", ""), ("amended", "urgent self_harm")]


def test_a_conflicting_mrn_an_implausible_date_or_a_true_false_score_is_rejected(
    engine: Engine, team_setup: dict
) -> None:
    far_patient = {
        "resourceType": "Patient",
        "id": "p-far",
        "identifier": [{"system": interop.MRN_SYSTEM, "value": "MRN-FAR"}],
    }
    conflicting = phq9_observation("MRN-OURS", [0] * 9, "conflict")
    conflicting["subject"]["reference"] = "Patient/p-far"
    before_1900 = phq9_observation("MRN-OURS", [0] * 9, "old", when="1899-12-31T12:00:00Z")
    before_birth = phq9_observation("MRN-OURS", [0] * 9, "unborn", when="1989-06-01T12:00:00Z")  # born 1990-01-01
    boolean_item = phq9_observation("MRN-OURS", [0] * 8 + [True], "bool-item")
    boolean_response = phq9_response("MRN-OURS", [False] * 9, "bool-response")

    results = import_self_reports(
        team_setup["nurse"], ndjson(far_patient, conflicting, before_1900, before_birth, boolean_item, boolean_response)
    )

    assert [r.status for r in results] == ["rejected"] * 5, [(r.status, r.detail) for r in results]
    reasons = [r.detail for r in results]
    assert "conflicting MRNs" in reasons[0] and "MRN-FAR" in reasons[0] and "MRN-OURS" in reasons[0]
    assert "before 1900" in reasons[1]
    assert "before the patient's birth date" in reasons[2]
    assert "PHQ-9 item 9" in reasons[3] and "true/false" in reasons[3]
    assert "PHQ-9 item 1" in reasons[4] and "true/false" in reasons[4]
    assert _stored(engine) == ([], [])


def test_a_file_nested_too_deeply_or_too_large_is_refused_before_it_is_parsed(
    engine: Engine, team_setup: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from db.fhir import __main__ as cli
    from db.fhir.parsing import MAX_INPUT_BYTES

    admin = make_user(engine, "admin")
    deep = "[" * 100_000 + "]" * 100_000
    hidden = '{"resourceType": "Observation", "x": ' + deep + "}"
    deep_line = ndjson(phq9_observation("MRN-OURS", [0] * 9, "ok"), hidden)
    # A quote left open on one line, or a line break JSON allows inside a string (U+2028), must not hide the
    # brackets after it from the depth check.
    after_open_quote = '{"resourceType": "Observation", "note": "unterminated\n' + deep + '\n"}'
    after_line_separator = '{"resourceType": "Observation", "note": "a\u2028' + deep + '"}'
    for payload in (deep, deep_line, after_open_quote):
        with pytest.raises(InvalidInput, match="nested more than"):
            import_self_reports(team_setup["nurse"], payload)
        with pytest.raises(InvalidInput, match="nested more than"):
            onboard_patient(admin, payload)
    with pytest.raises(InvalidInput, match="larger than"):
        import_self_reports(team_setup["nurse"], b" " * (MAX_INPUT_BYTES + 1))
    # Inside one JSON string the brackets are text: the line is read whole and rejected for what it is.
    (rejected,) = import_self_reports(team_setup["nurse"], after_line_separator)
    assert rejected.status == "rejected" and "not valid FHIR R4" in rejected.detail

    deep_file, huge_file = tmp_path / "deep.json", tmp_path / "huge.ndjson"
    deep_file.write_text(deep)
    with huge_file.open("wb") as handle:
        handle.truncate(MAX_INPUT_BYTES + 1)  # sparse: the command must refuse it without reading it
    database_url = engine.url.render_as_string(hide_password=False)
    for command in (["import-reports", deep_file], ["onboard", deep_file], ["import-reports", huge_file]):
        assert cli.main(["--database-url", database_url, *map(str, command)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("rejected: file:") and "Traceback" not in err
        assert "nested more than" in err or "larger than" in err
    assert _stored(engine) == ([], [])


# --- Issue 12 item 5: onboarding runs the prescriber's safety review ------------------------------------------


def _medication_statement(name: str, rxnorm: str, mg: float) -> dict:
    return {
        "resource": {
            "resourceType": "MedicationStatement",
            "status": "active",
            "subject": {"reference": "Patient/new"},
            "medicationCodeableConcept": {
                "coding": [{"system": interop.RXNORM_SYSTEM, "code": rxnorm}],
                "text": name,
            },
            "dosage": [
                {
                    "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                    "doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg"}}],
                }
            ],
        }
    }


def _allergy(substance: str) -> dict:
    return {
        "resource": {
            "resourceType": "AllergyIntolerance",
            "patient": {"reference": "Patient/new"},
            "code": {"text": substance},
        }
    }


def test_onboarding_refuses_what_the_start_medication_review_would_block_and_writes_nothing(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from db.fhir import __main__ as cli

    admin = make_user(engine, "admin")
    make_user(engine, "prescriber", team_id=make_team(engine), username="dr_onboard")
    mao_and_ssri = _onboarding_bundle()
    mao_and_ssri["entry"].append(_medication_statement("phenelzine", "8123", 15))  # with sertraline 50 mg
    allergic = _onboarding_bundle()
    allergic["entry"].append(_allergy("sertraline"))
    both = _onboarding_bundle()
    both["entry"] += [_medication_statement("phenelzine", "8123", 15), _allergy("Zoloft")]
    too_much = _onboarding_bundle()
    too_much["entry"][3]["resource"]["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"] = 5000

    with pytest.raises(SafetyBlock) as interaction:
        onboard_patient(admin, json.dumps(mao_and_ssri), prescriber_username="dr_onboard")
    with pytest.raises(SafetyBlock) as allergy:
        onboard_patient(admin, json.dumps(allergic), prescriber_username="dr_onboard")
    with pytest.raises(SafetyBlock) as every_reason:
        onboard_patient(admin, json.dumps(both))
    with pytest.raises(SafetyBlock) as dose:
        onboard_patient(admin, json.dumps(too_much))

    found = interaction.value.reasons
    assert any("Contraindicated interaction" in r and "phenelzine" in r and "sertraline" in r for r in found), found
    assert any("Allergy on file: sertraline" in r for r in allergy.value.reasons), allergy.value.reasons
    listed = " | ".join(every_reason.value.reasons)
    assert "Contraindicated interaction" in listed and "Allergy on file: Zoloft" in listed
    assert any("above the maximum" in r for r in dose.value.reasons), dose.value.reasons
    with read_session(engine) as session:
        for model in (Patient, Prescription, Allergy, Diagnosis):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model
        assert session.scalars(select(AuditEvent.action).where(AuditEvent.action == "onboard_patient")).all() == []

    bundle_file = tmp_path / "mao.json"
    bundle_file.write_text(json.dumps(both))
    database_url = engine.url.render_as_string(hide_password=False)
    assert cli.main(["--database-url", database_url, "onboard", str(bundle_file)]) == 1
    err = capsys.readouterr().err
    assert "refused by the safety review" in err and "Traceback" not in err
    assert "Contraindicated interaction" in err and "Allergy on file: Zoloft" in err

    # The same bundle without the clashing medication onboards.
    result = onboard_patient(admin, json.dumps(_onboarding_bundle()), prescriber_username="dr_onboard")
    assert result.medications == 1


def test_onboarding_a_controlled_substance_is_refused_because_a_file_cannot_attest_the_pdmp_check(
    engine: Engine,
) -> None:
    admin = make_user(engine, "admin")
    make_user(engine, "prescriber", team_id=make_team(engine), username="dr_ny", licensed_states=["NY"])
    bundle = _onboarding_bundle()
    bundle["entry"].append(_medication_statement("lorazepam", "6470", 1))

    with pytest.raises(SafetyBlock) as refused:
        onboard_patient(admin, json.dumps(bundle), prescriber_username="dr_ny")

    assert any("PDMP" in reason for reason in refused.value.reasons), refused.value.reasons
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 0


def test_the_database_refuses_a_second_first_version_or_a_second_correction_of_one_version(
    engine: Engine, team_setup: dict
) -> None:
    """What two concurrent imports of the same report (or of the same correction) would run into."""
    from sqlalchemy.exc import IntegrityError

    from db.engine import write_session

    def version(supersedes_id: int | None = None, identifier: str = "r-1") -> Assessment:
        return Assessment(
            patient_id=team_setup["ours"],
            instrument="PHQ-9",
            answers=[0] * 9,
            total=0,
            source="self-report",
            administered_at=datetime(2026, 1, 5),
            external_id=identifier,
            supersedes_id=supersedes_id,
        )

    with write_session(engine) as session:
        first = version()
        session.add(first)
        session.flush()
        session.add(version(first.id))
        session.add(version(identifier="r-2"))
    for duplicate in (version(), version(first.id)):
        with pytest.raises(IntegrityError), write_session(engine) as session:
            session.add(duplicate)
    assert len(_stored(engine)[0]) == 3
