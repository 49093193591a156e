"""Supervisor figures match hand counts; reassignment respects licensure; user admin revokes sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from db.auth import login, resolve_session
from db.commands import InvalidInput
from db.commands.caseload import reassign_patients
from db.commands.users import approve_account, create_user, deactivate_user, reset_password
from db.engine import read_session, utcnow, write_session
from db.models import Assessment, AuditEvent, Flag, LabOrder, Patient
from db.permissions import PermissionDenied
from db.queries.caseload import program_today
from db.queries.program import (
    audit_events,
    drill_down,
    outcome_rates,
    outcomes,
    overview_by,
    patient_metrics,
    program_figures,
)
from db.summary import refresh_patient_summary
from tests.factories import TEST_PASSWORD, make_patient, make_team, make_user


@pytest.fixture
def program(engine: Engine) -> dict:
    team = make_team(engine)
    ana = make_user(engine, "prescriber", team_id=team, licensed_states=["NY", "NJ"])
    ben = make_user(engine, "prescriber", team_id=team, licensed_states=["NY"])
    nurse = make_user(engine, "nurse", team_id=team)
    supervisor = make_user(engine, "supervisor")
    admin = make_user(engine, "admin")
    today = program_today()
    patients = {
        "a1": make_patient(engine, prescriber=ana, nurse=nurse, state="NJ", next_visit_due=today - timedelta(days=2)),
        "a2": make_patient(engine, prescriber=ana, nurse=nurse, state="NY"),
        "b1": make_patient(engine, prescriber=ben, nurse=nurse, state="NY"),
    }
    now = utcnow()
    with write_session(engine) as session:
        # PHQ-9 courses: a1 20 -> 8 (response 60 %), a2 12 -> 4 (response and remission), b1 15 -> 12 (neither).
        for key, (baseline, latest) in {"a1": (20, 8), "a2": (12, 4), "b1": (15, 12)}.items():
            for days_ago, total in ((50, baseline), (5, latest)):
                session.add(
                    Assessment(
                        patient_id=patients[key],
                        instrument="PHQ-9",
                        answers=[],
                        total=total,
                        severity="x",
                        administered_at=now - timedelta(days=days_ago),
                        source="visit",
                    )
                )
        session.add(
            Flag(
                patient_id=patients["a1"],
                kind="self_harm",
                severity="urgent",
                severity_rank=0,
                cause="self_harm",
                summary="x",
                state="open",
                is_open=True,
                raised_at=now - timedelta(hours=2),
            )
        )
        session.add(
            Flag(
                patient_id=patients["b1"],
                kind="worsening_score",
                severity="moderate",
                severity_rank=2,
                cause="worse",
                summary="x",
                state="open",
                is_open=True,
                raised_at=now,
            )
        )
        session.add(LabOrder(patient_id=patients["a2"], test="TSH", reason="lithium", due_by=today - timedelta(1)))
        refresh_patient_summary(session, patients.values())  # rows added here, not by a command: as a command does
    return dict(ana=ana, ben=ben, nurse=nurse, supervisor=supervisor, admin=admin, **patients)


def test_overview_figures_match_hand_counts(engine: Engine, program: dict) -> None:
    figures = program_figures(program["supervisor"])
    rows = {row["prescriber"]: row for row in overview_by(figures, "prescriber").to_dict("records")}
    ana, ben = rows[program["ana"].full_name], rows[program["ben"].full_name]
    assert (ana["Active patients"], ana["Open urgent flags"], ana["Open moderate flags"]) == (2, 1, 0)
    assert (ana["Flags past target"], ana["Overdue visits"], ana["Overdue labs"]) == (1, 1, 1)
    assert (ben["Active patients"], ben["Open urgent flags"], ben["Open moderate flags"]) == (1, 0, 1)
    assert (ben["Flags past target"], ben["Overdue visits"], ben["Overdue labs"]) == (0, 0, 0)
    assert ana["% with PHQ-9 in last 30 days"] == ben["% with PHQ-9 in last 30 days"] == 100.0
    nurse = overview_by(figures, "nurse").to_dict("records")
    assert [(row["nurse"], row["Active patients"]) for row in nurse] == [(program["nurse"].full_name, 3)]
    metrics = patient_metrics(program["supervisor"], staff_member=("prescriber", program["ana"].user_id))
    assert set(metrics["mrn"]) == {_mrn(engine, program["a1"]), _mrn(engine, program["a2"])}
    behind = drill_down(metrics, "prescriber", program["ana"].full_name, "overdue_visits")
    assert list(behind["mrn"]) == [_mrn(engine, program["a1"])]


def test_response_and_remission_rates_match_hand_computation(engine: Engine, program: dict) -> None:
    table = outcomes(program["supervisor"], instrument="PHQ-9")
    assert table["patients"].sum() == 3
    rates = outcome_rates(table).iloc[0]
    assert (rates["patients"], rates["response %"], rates["remission %"]) == (3, 66.7, 33.3)


def test_only_supervisors_see_the_overview(program: dict) -> None:
    with pytest.raises(PermissionDenied):
        patient_metrics(program["ana"])


def test_reassignment_respects_licensure_and_is_audited(engine: Engine, program: dict) -> None:
    with pytest.raises(InvalidInput, match="not licensed in NJ"):
        reassign_patients(
            program["supervisor"], [program["a1"]], prescriber_id=program["ben"].user_id, reason="leave cover"
        )
    result = reassign_patients(
        program["supervisor"], [program["a2"]], prescriber_id=program["ben"].user_id, reason="leave cover"
    )
    assert result.moved == 1
    assert sorted(result.caseload_before.values()) == [1, 2] and sorted(result.caseload_after.values()) == [1, 2]
    with read_session(engine) as session:
        assert session.get(Patient, program["a2"]).prescriber_id == program["ben"].user_id
        audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "reassign_patient")).one()
    assert audit.patient_id == program["a2"] and "leave cover" in audit.detail
    with pytest.raises(PermissionDenied):
        reassign_patients(program["ana"], [program["a1"]], prescriber_id=program["ana"].user_id, reason="x")


def test_audit_search_filters(engine: Engine, program: dict) -> None:
    reassign_patients(program["supervisor"], [program["a2"]], prescriber_id=program["ben"].user_id, reason="cover")
    login(program["nurse"].username, "wrong")
    by_action = audit_events(program["admin"], action="reassign_patient")
    assert list(by_action["action"]) == ["reassign_patient"]
    by_patient = audit_events(program["supervisor"], patient_mrn=_mrn(engine, program["a2"]))
    assert set(by_patient["action"]) == {"reassign_patient"}
    by_user = audit_events(program["supervisor"], username=program["nurse"].username)
    assert list(by_user["action"]) == ["login_failed"]
    by_category = audit_events(program["supervisor"], data_category="security")
    assert list(by_category["action"]) == ["login_failed"]
    assert audit_events(program["supervisor"], since=utcnow() + timedelta(minutes=1)).empty


def test_deactivation_and_password_reset_end_sessions(engine: Engine, program: dict) -> None:
    user_id = create_user(
        program["admin"],
        username="new.nurse",
        full_name="New Nurse",
        role="nurse",
        password=TEST_PASSWORD,
        licensed_states=["ny"],
    )
    approve_account(program["supervisor"], user_id)  # a clinical account needs a second person
    first = login("new.nurse", TEST_PASSWORD).actor.session_id
    assert reset_password(program["admin"], user_id, "another long passphrase") == 1
    assert resolve_session(first) is None
    approve_account(program["supervisor"], user_id)
    second = login("new.nurse", "another long passphrase").actor.session_id
    assert deactivate_user(program["admin"], user_id, "left the program") == 1
    assert resolve_session(second) is None
    with pytest.raises(InvalidInput):
        create_user(program["admin"], username="x", full_name="", role="wizard", password="short")
    with pytest.raises(PermissionDenied):
        create_user(program["supervisor"], username="sneaky", full_name="S", role="admin", password=TEST_PASSWORD)


def _mrn(engine: Engine, patient_id: int) -> str:
    with read_session(engine) as session:
        return session.get(Patient, patient_id).mrn
