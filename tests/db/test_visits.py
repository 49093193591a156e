"""Logging a visit: scores, flags the rules call for, labs, and refusal of bad or stale input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from clinical import score_instrument
from db.commands import EditConflict, InvalidInput
from db.commands.visits import SideEffectEntry, VisitInput, log_visit, save_visit
from db.engine import read_session, utcnow, write_session
from db.models import Assessment, AuditEvent, Flag, Patient, SideEffectReport, Visit
from db.permissions import require_patient
from db.queries.caseload import program_today
from tests.factories import make_patient, make_team, make_user

CALM_PHQ9 = [1, 1, 1, 0, 0, 0, 0, 0, 0]
CALM_GAD7 = [1, 1, 0, 0, 0, 0, 0]


@pytest.fixture
def setup(engine: Engine) -> dict:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team)
    other = make_user(engine, "prescriber", team_id=team)
    nurse = make_user(engine, "nurse", team_id=team)
    patient = make_patient(engine, prescriber=prescriber, nurse=nurse)
    return dict(prescriber=prescriber, other=other, nurse=nurse, patient=patient)


def _version(engine: Engine, patient_id: int) -> int:
    with read_session(engine) as session:
        return session.get(Patient, patient_id).version


def _count(engine: Engine, model: type) -> int:
    with read_session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)))


def _visit(**overrides: object) -> VisitInput:
    values: dict[str, object] = dict(
        visit_at=utcnow() - timedelta(minutes=5),
        modality="video",
        duration_minutes=30,
        phq9=CALM_PHQ9,
        gad7=CALM_GAD7,
        assessment_note="stable",
        plan_note="continue",
    )
    values.update(overrides)
    return VisitInput(**values)  # type: ignore[arg-type]


def test_positive_self_harm_item_raises_one_urgent_flag(engine: Engine, setup: dict) -> None:
    phq9 = [2, 2, 1, 1, 1, 1, 1, 0, 2]
    result = log_visit(
        setup["prescriber"],
        setup["patient"],
        _visit(phq9=phq9),
        expected_patient_version=_version(engine, setup["patient"]),
    )
    assert [(severity, kind) for severity, kind, _ in result.flags_raised] == [("urgent", "self_harm")]
    with read_session(engine) as session:
        flag = session.scalars(select(Flag)).one()
        assert (flag.severity, flag.state, flag.patient_id) == ("urgent", "open", setup["patient"])
        assert session.scalar(select(Assessment.total).where(Assessment.instrument == "PHQ-9")) == sum(phq9)
        assert "log_visit" in session.scalars(select(AuditEvent.action)).all()
    # A second positive answer while the first flag is open does not duplicate it.
    log_visit(
        setup["prescriber"],
        setup["patient"],
        _visit(phq9=phq9),
        expected_patient_version=_version(engine, setup["patient"]),
    )
    assert _count(engine, Flag) == 1


def test_side_effect_and_missed_doses_raise_flags(engine: Engine, setup: dict) -> None:
    effects = [SideEffectEntry(drug="lamotrigine", symptom="new rash on chest", severity="moderate")]
    result = log_visit(
        setup["prescriber"],
        setup["patient"],
        _visit(side_effects=effects, missed_doses=4),
        expected_patient_version=_version(engine, setup["patient"]),
    )
    kinds = {kind: severity for severity, kind, _ in result.flags_raised}
    assert kinds["red_flag_side_effect"] == "urgent"
    assert "missed_doses" in kinds
    assert _count(engine, SideEffectReport) == 1


@pytest.mark.parametrize(
    "bad, field",
    [
        (dict(phq9=[0, 1, 2, 3, 4, 0, 0, 0, 0]), "PHQ-9"),
        (dict(gad7=[0, 1]), "GAD-7"),
        (dict(duration_minutes=0), "duration"),
        (dict(visit_at=utcnow() + timedelta(days=2)), "visit time"),
        (dict(bp_systolic=80, bp_diastolic=120), "blood pressure"),
        (dict(weight_kg=-3.0), "weight kg"),
        (dict(assessment_note="x" * 10_001), "assessment note"),
    ],
)
def test_invalid_input_names_the_field_and_writes_nothing(engine: Engine, setup: dict, bad: dict, field: str) -> None:
    audit_before = _count(engine, AuditEvent)
    with pytest.raises(InvalidInput) as error:
        log_visit(
            setup["prescriber"],
            setup["patient"],
            _visit(**bad),
            expected_patient_version=_version(engine, setup["patient"]),
        )
    assert field in error.value.errors
    assert _count(engine, Visit) == _count(engine, Assessment) == 0
    assert _count(engine, AuditEvent) == audit_before


def test_stale_form_is_refused(engine: Engine, setup: dict) -> None:
    opened_at_version = _version(engine, setup["patient"])
    log_visit(setup["prescriber"], setup["patient"], _visit(), expected_patient_version=opened_at_version)
    with pytest.raises(EditConflict):
        log_visit(
            setup["prescriber"],
            setup["patient"],
            _visit(plan_note="from an old tab"),
            expected_patient_version=opened_at_version,
        )
    assert _count(engine, Visit) == 1


def test_a_visit_advances_the_version_once_and_keeps_the_next_visit_due(engine: Engine, setup: dict) -> None:
    before = _version(engine, setup["patient"])
    due = program_today() + timedelta(days=14)
    log_visit(setup["prescriber"], setup["patient"], _visit(next_visit_due=due), expected_patient_version=before)
    log_visit(setup["prescriber"], setup["patient"], _visit(), expected_patient_version=before + 1)
    with read_session(engine) as session:
        patient = session.get(Patient, setup["patient"])
        assert (patient.version, patient.next_visit_due) == (before + 2, due)  # a visit without a date keeps it


def test_a_change_after_the_patient_was_read_refuses_the_visit(engine: Engine, setup: dict) -> None:
    """The version update names the version the save read: a change between the read and the update (which the
    per-patient lock normally prevents) fails the save rather than being overwritten."""
    scores = [score_instrument("PHQ-9", CALM_PHQ9), score_instrument("GAD-7", CALM_GAD7)]
    with pytest.raises(EditConflict), write_session(engine) as session:
        patient = require_patient(session, setup["prescriber"], setup["patient"], "log_visit")
        table = Patient.__table__
        session.connection().execute(update(table).where(table.c.id == patient.id).values(version=patient.version + 1))
        save_visit(session, setup["prescriber"], patient, _visit(), scores)
    assert _count(engine, Visit) == _count(engine, Assessment) == 0


def test_other_prescriber_cannot_log_a_visit(engine: Engine, setup: dict) -> None:
    from db.permissions import PermissionDenied

    with pytest.raises(PermissionDenied):
        log_visit(
            setup["other"], setup["patient"], _visit(), expected_patient_version=_version(engine, setup["patient"])
        )
    assert _count(engine, Visit) == 0
    with read_session(engine) as session:
        denied = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).one()
    assert (denied.user_id, denied.patient_id) == (setup["other"].user_id, setup["patient"])


HIGH_RISK_SCREEN = {"q1": True, "q2": True, "q3": True, "q4": True, "q5": False, "q6": False}


def test_a_high_risk_cssrs_screen_at_follow_up_needs_level_of_care_then_raises_the_urgent_flag(
    engine: Engine, setup: dict
) -> None:
    """The follow-up screen goes through the intake's rules: scored the same way, the same level-of-care
    requirement, the same urgent flag, stored the same way (an assessment and the risk on the visit)."""
    with pytest.raises(InvalidInput) as refused:
        log_visit(
            setup["prescriber"],
            setup["patient"],
            _visit(cssrs=HIGH_RISK_SCREEN),
            expected_patient_version=_version(engine, setup["patient"]),
        )
    assert "higher level of care" in refused.value.errors
    assert _count(engine, Visit) == 0 and _count(engine, Assessment) == 0

    result = log_visit(
        setup["prescriber"],
        setup["patient"],
        _visit(
            cssrs=HIGH_RISK_SCREEN,
            higher_level_of_care_considered=True,
            higher_level_of_care_note="declined PHP; daily check-ins",
        ),
        expected_patient_version=_version(engine, setup["patient"]),
    )
    assert [(severity, kind) for severity, kind, _ in result.flags_raised] == [("urgent", "suicide_risk")]
    assert "C-SSRS screener high risk" in result.summary()
    with read_session(engine) as session:
        visit = session.scalars(select(Visit)).one()
        screen = session.scalars(select(Assessment).where(Assessment.instrument == "C-SSRS screener")).one()
        flag = session.scalars(select(Flag)).one()
        audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "log_visit")).one()
    assert visit.visit_type == "follow-up"
    assert visit.details == {
        "cssrs_risk": "high",
        "higher_level_of_care_considered": True,
        "higher_level_of_care_note": "declined PHP; daily check-ins",
    }
    assert (screen.answers, screen.severity, screen.visit_id) == (HIGH_RISK_SCREEN, "high", visit.id)
    assert (flag.kind, flag.severity) == ("suicide_risk", "urgent")
    assert "C-SSRS high risk" in (audit.detail or "")


def test_the_summary_gives_each_score_its_change_since_the_previous_one(engine: Engine, setup: dict) -> None:
    log_visit(
        setup["prescriber"],
        setup["patient"],
        _visit(visit_at=utcnow() - timedelta(days=7), phq9=[2] * 8 + [0], gad7=CALM_GAD7),
        expected_patient_version=_version(engine, setup["patient"]),
    )
    result = log_visit(
        setup["prescriber"],
        setup["patient"],
        _visit(cssrs={"q1": False, "q2": False, "q6": False}),
        expected_patient_version=_version(engine, setup["patient"]),
    )
    assert result.summary().startswith(
        "Visit saved: PHQ-9 3 (minimal) down 13 from 16, GAD-7 2 (minimal) unchanged from 2, C-SSRS screener low risk."
    )
