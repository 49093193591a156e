"""The permission module decides, on the server, which patients each role may see and what it may do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from db.engine import read_session, utcnow, write_session
from db.models import AuditEvent, BreakGlassGrant, Patient
from db.permissions import PermissionDenied, can_view_patient, patient_scope, require, require_patient
from tests.factories import make_patient, make_team, make_user


@pytest.fixture
def program(engine: Engine) -> dict:
    team_a, team_b = make_team(engine, "A"), make_team(engine, "B")
    p1 = make_user(engine, "prescriber", team_id=team_a)
    p2 = make_user(engine, "prescriber", team_id=team_b)
    n1 = make_user(engine, "nurse", team_id=team_a)
    n2 = make_user(engine, "nurse", team_id=team_b)
    sup = make_user(engine, "supervisor")
    admin = make_user(engine, "admin")
    a1 = make_patient(engine, prescriber=p1, nurse=n1)
    a2 = make_patient(engine, prescriber=p1, nurse=n1)
    b1 = make_patient(engine, prescriber=p2, nurse=n2)
    return dict(p1=p1, p2=p2, n1=n1, n2=n2, sup=sup, admin=admin, a1=a1, a2=a2, b1=b1)


def _visible(engine: Engine, actor) -> set[int]:  # type: ignore[no-untyped-def]
    with read_session(engine) as session:
        return set(session.scalars(select(Patient.id).where(patient_scope(actor))))


def test_each_role_sees_exactly_its_patients(engine: Engine, program: dict) -> None:
    everyone = {program["a1"], program["a2"], program["b1"]}
    assert _visible(engine, program["p1"]) == {program["a1"], program["a2"]}
    assert _visible(engine, program["p2"]) == {program["b1"]}
    assert _visible(engine, program["n1"]) == {program["a1"], program["a2"]}
    assert _visible(engine, program["n2"]) == {program["b1"]}
    assert _visible(engine, program["sup"]) == everyone
    assert _visible(engine, program["admin"]) == set()


def test_role_capabilities(program: dict) -> None:
    require(program["p1"], "prescribe")
    with pytest.raises(PermissionDenied):
        require(program["n1"], "prescribe")
    with pytest.raises(PermissionDenied):
        require(program["sup"], "log_visit")
    with pytest.raises(PermissionDenied):
        require(program["admin"], "view_chart")


def test_denied_patient_access_is_audited_and_reveals_nothing(engine: Engine, program: dict) -> None:
    with pytest.raises(PermissionDenied) as denied, read_session(engine) as session:
        require_patient(session, program["p1"], program["b1"], "view_chart")
    with pytest.raises(PermissionDenied) as missing, read_session(engine) as session:
        require_patient(session, program["p1"], 999_999, "view_chart")
    assert str(denied.value) == str(missing.value)
    with read_session(engine) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied").order_by(AuditEvent.id)).all()
    assert [(row.user_id, row.patient_id, row.action) for row in rows] == [
        (program["p1"].user_id, program["b1"], "view_chart"),
        (program["p1"].user_id, None, "view_chart"),
    ]


def test_break_glass_grant_opens_one_chart_until_it_expires(engine: Engine, program: dict) -> None:
    p1, b1 = program["p1"], program["b1"]
    with write_session(engine) as session:
        session.add(
            BreakGlassGrant(
                user_id=p1.user_id,
                patient_id=b1,
                reason="covering crisis call",
                expires_at=utcnow() + timedelta(minutes=30),
            )
        )
    with read_session(engine) as session:
        assert can_view_patient(session, p1, b1)
    later = utcnow() + timedelta(minutes=31)
    with read_session(engine) as session:
        assert session.scalar(select(Patient.id).where(Patient.id == b1, patient_scope(p1, now=later))) is None
