"""The summary-based overview gives the same figures as the per-patient computation it replaced, on a seeded
program with random writes on top (tests/db/overview_before_summary.py keeps that computation)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from sqlalchemy import Engine, select

from db.auth import actor_for
from db.commands.checkin import CheckinAnswers, send_checkin_link, submit_checkin
from db.engine import read_session, utcnow
from db.models import Patient, User
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


def _send_checkin_links(engine: Engine) -> None:
    """Links sent by each patient's nurse to a few patients, some answered: the overview's check-in share."""
    with read_session(engine) as session:
        rows = session.execute(
            select(Patient.id, User).join(User, User.id == Patient.nurse_id)
            .where(Patient.program_phase != "discharged").order_by(Patient.id).limit(6)
        ).all()
        senders = [(patient_id, actor_for(nurse)) for patient_id, nurse in rows]
    for index, (patient_id, nurse) in enumerate(senders):
        sent = send_checkin_link(nurse, patient_id, engine=engine)
        if index % 2 == 0:
            submit_checkin(sent.token, CheckinAnswers(phq9=[1] * 9, gad7=[1] * 7, missed_doses=0), engine=engine)


def test_overview_figures_equal_the_per_patient_computation(engine: Engine) -> None:
    generate(engine, seed=21, patients=80, weeks_history=12)
    _send_checkin_links(engine)
    _compare(engine)
    _compare(engine, phases=["intensive", "step-down"], admitted_from=utcnow().date() - timedelta(days=40))
