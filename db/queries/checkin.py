"""Reads about check-in links: a patient's links for the chart, the newest link per patient for the caseload,
and the one rule (``clinical.checkin_status``) that says whether measures are due, sent, answered or overdue."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, aliased

import clinical
from db.engine import read_session, utcnow
from db.models import PatientCheckinLink, User
from db.permissions import Actor, require_patient
from db.settings import get_settings

TRACKED_MEASURES = ("PHQ-9", "GAD-7")


def link_state(used_at: Any, revoked_at: Any, expires_at: datetime, now: datetime) -> str:
    """What a link is now, in the words the chart shows."""
    if _present(used_at):
        return "answered"
    if _present(revoked_at):
        return "revoked"
    if now >= expires_at:
        return "expired unused"
    return "waiting for the patient"


def _present(value: Any) -> bool:
    return value is not None and not pd.isna(value)


def _optional(value: Any) -> Any:
    return value if _present(value) else None


def snapshot(row: Any) -> clinical.LinkSnapshot:
    """The clinical rule's view of a link row (anything with created_at, expires_at, used_at, revoked_at)."""
    return clinical.LinkSnapshot(
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=_optional(row.used_at),
        revoked_at=_optional(row.revoked_at),
    )


def measure_status(
    *,
    phase: str,
    latest_measure_at: dict[str, datetime | None],
    latest_link: clinical.LinkSnapshot | None,
    last_visit_at: datetime | None,
    today: date,
    now: datetime | None = None,
    cadence: dict[str, dict[str, int]] | None = None,
) -> str:
    """Due, sent, answered, overdue or up to date, by the phase's measure cadence (``MEASURE_CADENCE_DAYS``):
    the same answer on the caseload and on the chart."""
    cadence = get_settings().measure_cadence_days if cadence is None else cadence
    intervals = {m: cadence.get(phase, {}).get(m) for m in TRACKED_MEASURES}
    due_dates = [
        (at.date() + timedelta(days=interval)) if at is not None else today
        for m, interval in intervals.items()
        if interval
        for at in [_optional(latest_measure_at.get(m))]
    ]
    known = [interval for interval in intervals.values() if interval]
    return clinical.checkin_status(
        measures_due_on=min(due_dates) if due_dates else None,
        interval_days=min(known) if known else None,
        latest_link=latest_link,
        last_visit_at=_optional(last_visit_at),
        now=now or utcnow(),
        today=today,
    )


def latest_links(session: Session, patient_ids: Any) -> dict[int, clinical.LinkSnapshot]:
    """The newest link of each patient in ``patient_ids`` (a subquery or list), in one statement."""
    newest_first = func.row_number().over(
        partition_by=PatientCheckinLink.patient_id,
        order_by=(PatientCheckinLink.created_at.desc(), PatientCheckinLink.id.desc()),
    )
    ranked = (
        select(
            PatientCheckinLink.patient_id,
            PatientCheckinLink.created_at,
            PatientCheckinLink.expires_at,
            PatientCheckinLink.used_at,
            PatientCheckinLink.revoked_at,
            newest_first.label("newest"),
        )
        .where(PatientCheckinLink.patient_id.in_(patient_ids))
        .subquery()
    )
    return {row.patient_id: snapshot(row) for row in session.execute(select(ranked).where(ranked.c.newest == 1))}


LINK_COLUMNS = [
    "id", "created_at", "sent_by", "measures", "expires_at", "opened_at", "used_at", "revoked_at", "revoked_by",
    "missed_doses", "state",
]  # fmt: skip


def checkin_links(
    actor: Actor, patient_id: int, *, now: datetime | None = None, engine: Engine | None = None
) -> pd.DataFrame:
    """Every check-in link of a patient the actor may see, newest first, with its state."""
    now = now or utcnow()
    sender, revoker = aliased(User), aliased(User)
    with read_session(engine) as session:
        require_patient(session, actor, patient_id, "view_chart")
        rows = session.execute(
            select(
                PatientCheckinLink.id,
                PatientCheckinLink.created_at,
                sender.full_name.label("sent_by"),
                PatientCheckinLink.measures,
                PatientCheckinLink.expires_at,
                PatientCheckinLink.opened_at,
                PatientCheckinLink.used_at,
                PatientCheckinLink.revoked_at,
                revoker.full_name.label("revoked_by"),
                PatientCheckinLink.missed_doses,
            )
            .outerjoin(sender, sender.id == PatientCheckinLink.created_by_id)
            .outerjoin(revoker, revoker.id == PatientCheckinLink.revoked_by_id)
            .where(PatientCheckinLink.patient_id == patient_id)
            .order_by(PatientCheckinLink.created_at.desc(), PatientCheckinLink.id.desc())
        ).all()
    table = pd.DataFrame(
        [
            {
                **row._asdict(),
                "measures": ", ".join(row.measures or []),
                "state": link_state(row.used_at, row.revoked_at, row.expires_at, now),
            }
            for row in rows
        ],
        columns=LINK_COLUMNS,
    )
    return table


__all__ = ["checkin_links", "latest_links", "link_state", "measure_status", "snapshot"]
