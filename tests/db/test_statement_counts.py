"""The queue and overview pages' SQL statement counts stay the same when the program grows."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select

from db.auth import actor_for
from db.engine import make_engine, read_session
from db.migrate import upgrade
from db.models import Patient, User
from db.program_snapshot import refresh_program_snapshot
from db.queries.program import overview_data
from db.queries.queues import refill_queue, triage_queue
from seed import generate
from tests.statement_counter import count_statements


def _program(tmp_path: Path, patients: int) -> Engine:
    url = f"sqlite:///{tmp_path / f'program-{patients}.db'}"
    upgrade(url)
    engine = make_engine(url)
    generate(engine, seed=5, patients=patients, weeks_history=8)
    return engine


def _statements_per_page(engine: Engine) -> dict[str, int]:
    with read_session(engine) as session:
        busiest = session.execute(
            select(Patient.prescriber_id).group_by(Patient.prescriber_id).order_by(func.count().desc()).limit(1)
        ).scalar_one()
        prescriber = actor_for(session.get(User, busiest))
        nurse = actor_for(
            session.scalars(select(User).where(User.role == "nurse", User.team_id == prescriber.team_id)).first()
        )
        supervisor = actor_for(session.scalars(select(User).where(User.role == "supervisor")).first())
    counts = {}
    for page, read in (
        ("triage", lambda: triage_queue(nurse, engine=engine)),
        ("refills", lambda: refill_queue(prescriber, engine=engine)),
        ("overview", lambda: overview_data(supervisor, live=True, engine=engine)),
        ("overview snapshot refresh", lambda: refresh_program_snapshot(engine=engine)),
    ):
        with count_statements(engine) as statements:
            read()
        counts[page] = len(statements)
    return counts


def test_queue_and_overview_statement_counts_do_not_grow_with_the_program(tmp_path: Path) -> None:
    small, large = _program(tmp_path, 40), _program(tmp_path, 160)
    with read_session(large) as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 160
    small_counts, large_counts = _statements_per_page(small), _statements_per_page(large)
    small.dispose()
    large.dispose()
    assert small_counts == large_counts
    assert large_counts["triage"] <= 3 and large_counts["refills"] <= 6 and large_counts["overview"] <= 10
