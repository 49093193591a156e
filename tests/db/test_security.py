"""Security mechanisms: revoked cookies, emergency access, amendments, online backup, validators."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from db.auth import attach_cookie, login, logout, resume_from_cookie
from db.backup import backup_sqlite
from db.commands import InvalidInput
from db.commands.access import amend_record, break_glass
from db.commands.medications import MedicationOrder, _validate_order
from db.commands.visits import VisitInput, validate_visit
from db.engine import read_session, utcnow, write_session
from db.models import Amendment, Assessment, AuditEvent
from db.permissions import PermissionDenied, can_view_patient
from db.queries.caseload import program_today
from db.queries.program import emergency_access_log
from tests.factories import TEST_PASSWORD, make_patient, make_team, make_user


def test_a_copied_login_cookie_stops_working_after_logout(engine: Engine) -> None:
    make_user(engine, "nurse", username="kim")
    session_id = login("kim", TEST_PASSWORD).actor.session_id
    attach_cookie(session_id, 1_900_000_000.123456)
    assert resume_from_cookie("kim", 1_900_000_000.123456) is not None  # another tab with the same cookie
    logout(session_id)
    assert resume_from_cookie("kim", 1_900_000_000.123456) is None
    assert resume_from_cookie("kim", 1_234.5) is None  # a forged expiry matches no session


def test_break_the_glass_grants_time_limited_audited_access(engine: Engine) -> None:
    team, other_team = make_team(engine), make_team(engine)
    nurse = make_user(engine, "nurse", team_id=team, may_break_glass=True)
    no_glass = make_user(engine, "nurse", team_id=team, may_break_glass=False)
    supervisor = make_user(engine, "supervisor")
    patient = make_patient(engine, nurse=make_user(engine, "nurse", team_id=other_team), mrn="MRN-EMERG")
    with read_session(engine) as session:
        assert not can_view_patient(session, nurse, patient)
    with pytest.raises(InvalidInput):
        break_glass(nurse, "MRN-EMERG", "imminent_risk", "help")  # the reason must say what the emergency is
    with pytest.raises(PermissionDenied):
        break_glass(no_glass, "MRN-EMERG", "imminent_risk", "patient called in crisis, primary nurse off shift")
    grant = break_glass(nurse, "MRN-EMERG", "imminent_risk", "patient called in crisis, primary nurse off shift")
    assert grant.expires_at - grant.granted_at == timedelta(minutes=60)
    with read_session(engine) as session:
        assert can_view_patient(session, nurse, patient)
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "break_glass")).one()
    assert (event.patient_id, event.data_category) == (patient, "emergency_access")
    log = emergency_access_log(supervisor)
    assert list(log["mrn"]) == ["MRN-EMERG"] and "crisis" in log.iloc[0]["reason"]


def test_amendment_appends_and_keeps_the_original(engine: Engine) -> None:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team)
    patient = make_patient(engine, prescriber=prescriber)
    with write_session(engine) as session:
        score = Assessment(
            patient_id=patient,
            instrument="PHQ-9",
            answers=[1] * 9,
            total=9,
            severity="mild",
            administered_at=utcnow(),
            source="visit",
        )
        session.add(score)
        session.flush()
        score_id = score.id
    amend_record(prescriber, "assessments", score_id, "total", "8", "item 3 was entered as 2, patient said 1")
    with read_session(engine) as session:
        assert session.get(Assessment, score_id).total == 9  # the original stays
        amendment = session.scalars(select(Amendment)).one()
    assert (amendment.old_value, amendment.new_value, amendment.author_id) == ("9", "8", prescriber.user_id)
    with pytest.raises(InvalidInput):
        amend_record(prescriber, "assessments", score_id, "answers", "[]", "not amendable")


def test_online_backup_while_writing(engine: Engine, tmp_path: Path, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("the online backup command is for the embedded SQLite deployment (PostgreSQL: pg_dump)")
    source = Path(engine.url.database)
    team = make_team(engine)
    stop = threading.Event()

    def keep_writing() -> None:
        while not stop.is_set():
            make_user(engine, "nurse", team_id=team)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        copy = backup_sqlite(source, tmp_path / "backup.db")
    finally:
        stop.set()
        writer.join()
    with sqlite3.connect(copy) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("SELECT count(*) FROM teams").fetchone()[0] == 1
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


@settings(max_examples=120, deadline=None)
@given(
    duration=st.one_of(st.integers(-10, 400), st.floats(allow_nan=True)),
    weight=st.one_of(st.none(), st.floats(-50, 1000), st.just(float("nan"))),
    missed=st.one_of(st.none(), st.integers(-5, 100)),
    phq9=st.one_of(st.none(), st.lists(st.integers(-1, 4), min_size=0, max_size=10)),
)
def test_visit_validator_accepts_exactly_the_valid_inputs(duration, weight, missed, phq9) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    visit = VisitInput(
        visit_at=now, modality="video", duration_minutes=duration, weight_kg=weight, missed_doses=missed, phq9=phq9
    )
    errors, _ = validate_visit(visit, now=now, today=program_today())
    valid_duration = isinstance(duration, int) and 1 <= duration <= 240
    valid_weight = weight is None or 25 <= weight <= 350  # NaN fails both comparisons
    valid_missed = missed is None or 0 <= missed <= 60
    valid_phq9 = phq9 is None or (len(phq9) == 9 and all(0 <= a <= 3 for a in phq9))
    assert ("duration" not in errors) is valid_duration
    assert ("weight kg" not in errors) is valid_weight
    assert ("missed doses" not in errors) is valid_missed
    assert ("PHQ-9" not in errors) is valid_phq9


@settings(max_examples=120, deadline=None)
@given(
    dose=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-100, 10**7)),
    unit=st.sampled_from(["mg", "mcg", "g", "tablet", ""]),
)
def test_dose_validator_never_lets_a_bad_dose_through(dose, unit: str) -> None:  # type: ignore[no-untyped-def]
    order = MedicationOrder(drug="sertraline", dose=dose, unit=unit, frequency="once daily", reason="x")
    try:
        _, daily = _validate_order(order)
    except InvalidInput as error:
        assert set(error.errors) <= {"dose", "unit"}
        return
    assert unit in ("mg", "mcg", "g") and dose > 0 and daily <= 100_000
