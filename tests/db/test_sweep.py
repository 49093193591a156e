"""Reading a page never writes: overdue-lab flags come from the background sweep (or cron), not from the triage
page; the sweep runs once per process, first after one interval."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import Engine, func, select

from db.engine import read_session, write_session
from db.models import AuditEvent, Flag, LabOrder
from db.queries.caseload import program_today
from db.sweep import start_background_sweep
from tests.factories import make_patient, make_team, make_user


def _overdue_lithium(engine: Engine) -> None:
    team = make_team(engine)
    nurse = make_user(engine, "nurse", team_id=team, username="rn_sweep")
    patient = make_patient(engine, prescriber=make_user(engine, "prescriber", team_id=team), nurse=nurse)
    with write_session(engine) as session:
        session.add(
            LabOrder(
                patient_id=patient,
                test="Lithium level",
                reason="lithium maintenance",
                due_by=program_today() - timedelta(days=30),
                status="pending",
            )
        )


def _counts() -> tuple[int, int]:
    with read_session() as session:
        return (
            int(session.scalar(select(func.count()).select_from(Flag)) or 0),
            int(session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action != "login")) or 0),
        )


def test_the_background_sweep_raises_the_overdue_flag_after_one_interval(engine: Engine) -> None:
    _overdue_lithium(engine)
    stop = threading.Event()
    try:
        thread = start_background_sweep(0.2, stop=stop)
        assert thread is not None and start_background_sweep(0.2) is thread  # once per process
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _counts()[0] == 0:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(timeout=5)
    with read_session() as session:
        assert [flag.kind for flag in session.scalars(select(Flag))] == ["overdue_lab"]
    assert start_background_sweep(0) is None
