"""The intake evaluation: reconciliation, allergies and diagnoses in one transaction; a high-risk screen."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select

from db.commands import InvalidInput, SafetyBlock
from db.commands.intake import IntakeInput, OutsideMedication, PriorTrial, preview_reconciliation, record_intake
from db.commands.visits import VisitInput
from db.engine import read_session, utcnow, write_session
from db.models import Allergy, AuditEvent, Diagnosis, Flag, Patient, Prescription, Visit
from tests.factories import make_patient, make_team, make_user

HIGH_RISK = {"q1": True, "q2": True, "q3": True, "q4": True, "q5": False, "q6": False}
LOW_RISK = {"q1": False, "q2": False, "q6": False}


@pytest.fixture
def setup(engine: Engine) -> dict:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team)
    patient = make_patient(engine, prescriber=prescriber, nurse=make_user(engine, "nurse", team_id=team))
    return dict(prescriber=prescriber, patient=patient)


def _intake(cssrs: dict, **fields: object) -> IntakeInput:
    values: dict[str, object] = dict(
        visit=VisitInput(visit_at=utcnow() - timedelta(minutes=1), modality="video", duration_minutes=60),
        cssrs=cssrs,
        treatment_plan="start sertraline; weekly visits",
        prior_trials=[PriorTrial("fluoxetine", "40 mg", "partial", "insomnia")],
        outside_medications=[
            OutsideMedication("lisinopril", "10 mg daily", "continue"),
            OutsideMedication("ibuprofen", "400 mg prn", "stop", "interaction with lithium plan"),
        ],
        allergies=[("penicillin", "hives")],
        diagnoses=[("F33.1", "MDD, recurrent, moderate", True), ("F41.1", "Generalized anxiety disorder", False)],
    )
    values.update(fields)
    return IntakeInput(**values)  # type: ignore[arg-type]


def _version(engine: Engine, patient_id: int) -> int:
    with read_session(engine) as session:
        return session.get(Patient, patient_id).version


def test_intake_records_history_reconciliation_allergies_and_diagnoses(engine: Engine, setup: dict) -> None:
    result = record_intake(
        setup["prescriber"],
        setup["patient"],
        _intake(LOW_RISK),
        expected_patient_version=_version(engine, setup["patient"]),
    )
    assert result.flags_raised == []
    with read_session(engine) as session:
        visit = session.scalars(select(Visit)).one()
        assert visit.visit_type == "intake"
        assert [m["decision"] for m in visit.details["outside_medications"]] == ["continue", "stop"]
        assert session.scalars(select(Allergy.substance)).all() == ["penicillin"]
        assert session.scalars(select(Diagnosis.icd10_code).where(Diagnosis.is_primary.is_(True))).all() == ["F33.1"]


def test_high_risk_screen_raises_an_urgent_flag_and_requires_level_of_care(engine: Engine, setup: dict) -> None:
    with pytest.raises(InvalidInput) as error:
        record_intake(
            setup["prescriber"],
            setup["patient"],
            _intake(HIGH_RISK),
            expected_patient_version=_version(engine, setup["patient"]),
        )
    assert "higher level of care" in error.value.errors
    result = record_intake(
        setup["prescriber"],
        setup["patient"],
        _intake(
            HIGH_RISK,
            higher_level_of_care_considered=True,
            higher_level_of_care_note="declined PHP; safety plan and daily check-ins",
        ),
        expected_patient_version=_version(engine, setup["patient"]),
    )
    assert [(severity, kind) for severity, kind, _ in result.flags_raised] == [("urgent", "suicide_risk")]
    with read_session(engine) as session:
        flag = session.scalars(select(Flag)).one()
        visit = session.scalars(select(Visit)).one()
    assert flag.severity == "urgent" and visit.details["higher_level_of_care_considered"] is True


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (dict(diagnoses=[("depression", "x", True)]), "diagnoses"),
        (dict(diagnoses=[("F33.1", "MDD", False)]), "diagnoses"),
        (dict(outside_medications=[OutsideMedication("lisinopril", "10 mg", "maybe")]), "outside medication 1"),
        (dict(treatment_plan=""), "treatment plan"),
    ],
)
def test_invalid_intake_writes_nothing(engine: Engine, setup: dict, fields: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        record_intake(
            setup["prescriber"],
            setup["patient"],
            _intake(LOW_RISK, **fields),
            expected_patient_version=_version(engine, setup["patient"]),
        )
    assert field in error.value.errors
    with read_session(engine) as session:
        assert session.scalars(select(Visit)).all() == [] and session.scalars(select(Allergy)).all() == []


def _on_sertraline(engine: Engine, patient_id: int) -> None:
    with write_session(engine) as session:
        session.add(
            Prescription(
                patient_id=patient_id,
                drug="sertraline",
                dose=100,
                unit="mg",
                frequency="once daily",
                daily_dose_mg=100,
                start_date=date.today() - timedelta(days=3),
            )
        )


def _visits(engine: Engine) -> int:
    with read_session(engine) as session:
        return len(session.scalars(select(Visit)).all())


def test_continuing_an_outside_maoi_with_sertraline_needs_a_documented_override(engine: Engine, setup: dict) -> None:
    """The start-medication review runs on reconciliation too: continuing phenelzine from another prescriber
    while on sertraline is a contraindicated pair (serotonin syndrome)."""
    _on_sertraline(engine, setup["patient"])
    intake = _intake(LOW_RISK, outside_medications=[OutsideMedication("Nardil 15 mg", "15 mg tid", "continue")])
    version = _version(engine, setup["patient"])
    with pytest.raises(SafetyBlock) as refused:
        record_intake(setup["prescriber"], setup["patient"], intake, expected_patient_version=version)
    assert any("Contraindicated interaction: phenelzine + sertraline" in reason for reason in refused.value.reasons)
    assert _visits(engine) == 0

    overridden = _intake(
        LOW_RISK,
        outside_medications=[OutsideMedication("Nardil 15 mg", "15 mg tid", "continue")],
        reconciliation_override="psychiatrist taper plan agreed; sertraline held until washout",
    )
    record_intake(setup["prescriber"], setup["patient"], overridden, expected_patient_version=version)
    with read_session(engine) as session:
        visit = session.scalars(select(Visit)).one()
        audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "record_intake")).one()
    assert visit.details["reconciliation_override"].startswith("psychiatrist taper plan")
    assert "reconciliation override: psychiatrist taper plan" in (audit.detail or "")


def test_an_allergy_recorded_at_intake_is_checked_against_a_continued_outside_medication(
    engine: Engine, setup: dict
) -> None:
    intake = _intake(
        LOW_RISK,
        outside_medications=[OutsideMedication("Zoloft", "50 mg", "continue")],
        allergies=[("sertraline", "angioedema")],
    )
    with pytest.raises(SafetyBlock) as refused:
        record_intake(
            setup["prescriber"], setup["patient"], intake, expected_patient_version=_version(engine, setup["patient"])
        )
    assert any("Allergy on file: sertraline" in reason for reason in refused.value.reasons)
    assert _visits(engine) == 0


def test_a_major_interaction_at_reconciliation_needs_an_acknowledgement_and_stopped_drugs_are_not_reviewed(
    engine: Engine, setup: dict
) -> None:
    _on_sertraline(engine, setup["patient"])
    meds = [OutsideMedication("tramadol", "50 mg prn", "continue"), OutsideMedication("linezolid", "", "stop")]
    version = _version(engine, setup["patient"])
    with pytest.raises(SafetyBlock) as refused:
        record_intake(
            setup["prescriber"],
            setup["patient"],
            _intake(LOW_RISK, outside_medications=meds),
            expected_patient_version=version,
        )
    assert all("linezolid" not in reason for reason in refused.value.reasons)
    assert any("tramadol" in reason and "acknowledge" in reason for reason in refused.value.reasons)
    record_intake(
        setup["prescriber"],
        setup["patient"],
        _intake(LOW_RISK, outside_medications=meds, acknowledge_interactions=True),
        expected_patient_version=version,
    )
    assert _visits(engine) == 1


def test_an_unknown_outside_medication_is_reported_not_checked_but_does_not_block(engine: Engine, setup: dict) -> None:
    _on_sertraline(engine, setup["patient"])
    intake = _intake(LOW_RISK, outside_medications=[OutsideMedication("Grandma's tonic", "1 spoon", "continue")])
    reviews = preview_reconciliation(setup["prescriber"], setup["patient"], intake)
    assert any(found.kind == "unknown" for review in reviews for found in review.interactions)
    record_intake(
        setup["prescriber"], setup["patient"], intake, expected_patient_version=_version(engine, setup["patient"])
    )
    assert _visits(engine) == 1
