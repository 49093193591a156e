"""The summary-based overview gives the same figures as the per-patient computation it replaced, on a seeded
program with random writes on top (tests/db/overview_before_summary.py keeps that computation)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from sqlalchemy import Engine, select

from db.auth import actor_for
from db.engine import read_session, utcnow
from db.models import User
from db.queries import program
from seed import generate
from tests.db import overview_before_summary as before


def _compare(engine: Engine, **filters: object) -> None:
    with read_session(engine) as session:
        supervisor = actor_for(session.scalars(select(User).where(User.role == "supervisor")).first())
    now = utcnow()
    old_metrics = before.patient_metrics(now=now, engine=engine, **filters)  # type: ignore[arg-type]
    new_figures = program.program_figures(supervisor, now=now, engine=engine, **filters)  # type: ignore[arg-type]
    since = now - timedelta(days=90)
    old_turnaround = before.refill_turnaround(since=since, engine=engine)
    new_turnaround = program.refill_turnaround(supervisor, since=since, engine=engine)
    assert not old_turnaround.empty
    for group in ("prescriber", "nurse"):
        old = program.overview_by(old_metrics, group, old_turnaround).sort_values(group).reset_index(drop=True)
        new = program.overview_by(new_figures, group, new_turnaround).sort_values(group).reset_index(drop=True)
        pd.testing.assert_frame_equal(old, new, check_dtype=False, atol=0.051)
    for instrument in ("PHQ-9", "GAD-7"):
        old_table = before.outcomes(instrument=instrument, now=now, engine=engine, **filters)  # type: ignore[arg-type]
        new_table = program.outcomes(supervisor, instrument=instrument, now=now, engine=engine, **filters)  # type: ignore[arg-type]
        assert len(old_table) > 0
        for by in (None, "prescriber", "admission_month"):
            old = before.outcome_rates(old_table, by).reset_index(drop=True)
            new = program.outcome_rates(new_table, by).reset_index(drop=True)
            pd.testing.assert_frame_equal(old, new, check_dtype=False)


def test_overview_figures_equal_the_per_patient_computation(engine: Engine) -> None:
    generate(engine, seed=21, patients=80, weeks_history=12)
    _compare(engine)
    _compare(engine, phases=["intensive", "step-down"], admitted_from=utcnow().date() - timedelta(days=40))
