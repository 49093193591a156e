"""The supervisor overview's snapshot (db.program_snapshot): the same figures as the live computation, read in a
constant number of statements, and never shown when stale, from another day or for other filters."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select, update

from db.auth import actor_for
from db.commands.visits import VisitInput, log_visit
from db.engine import make_engine, read_session, utcnow, write_session
from db.migrate import upgrade
from db.models import Patient, ProgramSnapshot, User
from db.permissions import Actor, PermissionDenied
from db.program_snapshot import recompute_overview, refresh_program_snapshot
from db.queries.caseload import program_today
from db.queries.program import (
    default_overview_filters,
    outcome_rates,
    outcomes,
    overview_by,
    overview_data,
    program_figures,
)
from db.sweep import start_background_overview_refresh
from seed import generate
from tests.statement_counter import count_statements


def _user(engine: Engine, role: str) -> Actor:
    with read_session(engine) as session:
        return actor_for(session.scalars(select(User).where(User.role == role).order_by(User.id)).first())


def _assert_same(left: pd.DataFrame, right: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True), check_dtype=False)


@pytest.fixture
def program(engine: Engine) -> Engine:
    generate(engine, seed=31, patients=60, weeks_history=10)
    return engine


def test_the_snapshot_shows_the_same_figures_as_the_live_computation(program: Engine) -> None:
    supervisor = _user(program, "supervisor")
    filters = default_overview_filters(program_today())
    now = utcnow()
    refresh_program_snapshot(now=now, engine=program)
    from_snapshot = overview_data(supervisor, **filters, now=now, engine=program)
    live = overview_data(supervisor, **filters, live=True, now=now, engine=program)
    assert from_snapshot.as_of == now and live.as_of is None
    assert int(live.by["prescriber"]["active_patients"].sum()) > 0 and not live.turnaround.empty
    for group in ("prescriber", "nurse"):
        _assert_same(
            overview_by(from_snapshot.by[group], group, from_snapshot.turnaround),
            overview_by(live.by[group], group, live.turnaround),
        )
    assert from_snapshot.outcomes.keys() == live.outcomes.keys()
    for key, table in live.outcomes.items():
        _assert_same(from_snapshot.outcomes[key], table)
    # And the same as the per-pair figures the drill-down's caseloads add up to.
    pairs = program_figures(supervisor, **filters, now=now, engine=program)
    for group in ("prescriber", "nurse"):
        _assert_same(overview_by(pairs, group), overview_by(from_snapshot.by[group], group))
    every_measure = outcomes(supervisor, instrument=None, **filters, now=now, engine=program)
    for instrument in ("PHQ-9", "GAD-7"):
        table = every_measure[every_measure["measure"] == instrument]
        assert len(table) > 0
        for by in (None, "prescriber", "admission_month"):
            _assert_same(
                outcome_rates(table, by), outcome_rates(from_snapshot.outcomes[(instrument, by or "scope")], by)
            )


def test_reading_the_snapshot_takes_the_same_statements_however_big_the_program(tmp_path: Path) -> None:
    counts = []
    for patients in (20, 80):
        url = f"sqlite:///{tmp_path / f'program-{patients}.db'}"
        upgrade(url)
        engine = make_engine(url)
        generate(engine, seed=patients, patients=patients, weeks_history=6)
        refresh_program_snapshot(engine=engine)
        supervisor = _user(engine, "supervisor")
        with count_statements(engine) as statements:
            data = overview_data(supervisor, **default_overview_filters(program_today()), engine=engine)
        engine.dispose()
        assert data.as_of is not None
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 3


def test_a_stale_snapshot_another_days_or_other_filters_are_computed_live(program: Engine) -> None:
    supervisor = _user(program, "supervisor")
    today = program_today()
    refresh_program_snapshot(engine=program)
    assert overview_data(supervisor, **default_overview_filters(today), engine=program).as_of is not None
    # Other filters: live.
    narrower = {**default_overview_filters(today), "phases": ["intensive"]}
    narrow = overview_data(supervisor, **narrower, engine=program)
    # ... but the refill turnaround, which no filter changes, is the snapshot's.
    assert narrow.as_of is None and narrow.turnaround_as_of is not None
    recomputed = overview_data(supervisor, **narrower, live=True, engine=program)
    assert recomputed.turnaround_as_of is None
    pd.testing.assert_frame_equal(narrow.turnaround, recomputed.turnaround)
    # Older than OVERVIEW_SNAPSHOT_MAX_AGE_SECONDS (180 s): live.
    with write_session(program) as session:
        session.execute(update(ProgramSnapshot).values(computed_at=utcnow() - timedelta(seconds=181)))
    assert overview_data(supervisor, **default_overview_filters(today), engine=program).as_of is None
    # Counted against yesterday (the time-relative figures would be a day off): live.
    with write_session(program) as session:
        session.execute(update(ProgramSnapshot).values(computed_at=utcnow(), program_today=today - timedelta(days=1)))
    assert overview_data(supervisor, **default_overview_filters(today), engine=program).as_of is None


def test_the_snapshot_follows_writes_at_its_next_refresh(program: Engine) -> None:
    supervisor = _user(program, "supervisor")
    filters = default_overview_filters(program_today())
    refresh_program_snapshot(engine=program)
    before = overview_data(supervisor, **filters, engine=program)
    with read_session(program) as session:
        patient = session.scalars(
            select(Patient).where(Patient.program_phase != "discharged").order_by(Patient.id)
        ).first()
        prescriber = actor_for(session.get(User, patient.prescriber_id))
    # A PHQ-9 with item 9 positive raises an urgent flag.
    log_visit(
        prescriber,
        patient.id,
        VisitInput(
            visit_at=utcnow() - timedelta(minutes=5),
            modality="video",
            duration_minutes=30,
            phq9=[1, 1, 1, 1, 1, 1, 1, 1, 2],
        ),
        expected_patient_version=patient.version,
        engine=program,
    )
    urgent = "urgent_flags"
    # The snapshot still stands until its next refresh.
    assert overview_data(supervisor, **filters, engine=program).by["nurse"][urgent].sum() == (
        before.by["nurse"][urgent].sum()
    )
    refresh_program_snapshot(engine=program)
    after = overview_data(supervisor, **filters, engine=program)
    live = overview_data(supervisor, **filters, live=True, engine=program)
    assert after.by["nurse"][urgent].sum() == live.by["nurse"][urgent].sum()
    assert after.by["nurse"][urgent].sum() > before.by["nurse"][urgent].sum()


def test_a_refresh_is_skipped_while_another_servers_is_fresh(program: Engine) -> None:
    now = utcnow()
    assert refresh_program_snapshot(now=now, engine=program) is not None
    skip = timedelta(seconds=30)
    assert refresh_program_snapshot(now=now + timedelta(seconds=10), skip_if_younger_than=skip, engine=program) is None
    assert refresh_program_snapshot(now=now + timedelta(seconds=40), skip_if_younger_than=skip, engine=program)
    # An older refresh finishing late never replaces a newer snapshot.
    refresh_program_snapshot(now=now, engine=program)
    with read_session(program) as session:
        assert session.scalar(select(func.count()).select_from(ProgramSnapshot)) == 1
        assert session.scalar(select(ProgramSnapshot.computed_at)) == now + timedelta(seconds=40)


def test_only_a_role_that_sees_the_program_may_recompute_it(program: Engine) -> None:
    with pytest.raises(PermissionDenied):
        recompute_overview(_user(program, "prescriber"), engine=program)
    with read_session(program) as session:
        assert session.scalar(select(func.count()).select_from(ProgramSnapshot)) == 0
    assert recompute_overview(_user(program, "supervisor"), engine=program) is not None


def test_the_background_refresh_runs_at_once_and_zero_turns_it_off(program: Engine) -> None:
    stop = threading.Event()
    # A long interval: only the run at start can write the snapshot within the test.
    thread = start_background_overview_refresh(3600, stop=stop)
    try:
        assert thread is not None and start_background_overview_refresh(3600) is thread  # once per process
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not _snapshot_rows(program):
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(timeout=20)
    assert _snapshot_rows(program) == 1
    assert start_background_overview_refresh(0) is None


def _snapshot_rows(engine: Engine) -> int:
    with read_session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(ProgramSnapshot)) or 0)
