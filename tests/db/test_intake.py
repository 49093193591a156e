"""The intake evaluation: reconciliation, allergies and diagnoses in one transaction; a high-risk screen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from db.commands import InvalidInput
from db.commands.intake import IntakeInput, OutsideMedication, PriorTrial, record_intake
from db.commands.visits import VisitInput
from db.engine import read_session, utcnow
from db.models import Allergy, Diagnosis, Flag, Patient, Visit
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
