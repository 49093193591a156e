"""Refresh the supervisor overview's snapshot: ``python -m db.program_snapshot``.

The overview's default view (every active phase, admitted in the last year) is read from one row of
``program_snapshots`` instead of being summed over every patient's summary on each view, so it costs the same
at 1,000 and 100,000 patients. Each app server refreshes it every ``OVERVIEW_REFRESH_SECONDS`` (db.sweep; 0 turns
that off, for deployments that run this module from cron), skipping a refresh when another server's is less
than half an interval old. A snapshot older than ``OVERVIEW_SNAPSHOT_MAX_AGE_SECONDS``, or counted against
another day, is not shown: the overview then computes its figures live, as it does for any other filter.

A derived table, like the per-patient summaries it is computed from: no audit event (nobody's record changes).
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from db.engine import read_session, utcnow, write_session
from db.models import ProgramSnapshot
from db.permissions import Actor, authorize
from db.queries.caseload import program_today
from db.queries.program import SNAPSHOT_SCOPE, overview_payload
from db.settings import get_settings


def refresh_program_snapshot(
    *,
    today: date | None = None,
    now: datetime | None = None,
    skip_if_younger_than: timedelta | None = None,
    engine: Engine | None = None,
) -> float | None:
    """Compute the default view's figures and replace the snapshot; returns the milliseconds the figures took
    (None when skipped because a snapshot for today is younger than ``skip_if_younger_than``)."""
    today = today or program_today()
    now = now or utcnow()
    started = time.perf_counter()
    # The figures are read first, in a read transaction: the write below holds its lock for one row only.
    with read_session(engine) as session:
        if skip_if_younger_than is not None:
            newest = session.scalar(
                select(ProgramSnapshot.computed_at).where(
                    ProgramSnapshot.scope == SNAPSHOT_SCOPE, ProgramSnapshot.program_today == today
                )
            )
            if newest is not None and newest >= now - skip_if_younger_than:
                return None
        payload = overview_payload(session, today=today, now=now)
    compute_ms = round(1000 * (time.perf_counter() - started), 1)
    values = {"program_today": today, "computed_at": now, "compute_ms": compute_ms, "payload": payload}
    with write_session(engine) as session:
        replaced = session.execute(
            update(ProgramSnapshot)
            # Never replace a newer snapshot (another server's refresh that started later and finished first).
            .where(ProgramSnapshot.scope == SNAPSHOT_SCOPE, ProgramSnapshot.computed_at <= now)
            .values(**values)
        ).rowcount
        if not replaced and session.get(ProgramSnapshot, SNAPSHOT_SCOPE) is None:
            session.add(ProgramSnapshot(scope=SNAPSHOT_SCOPE, **values))
            try:
                session.flush()
            except IntegrityError:  # another server inserted the first snapshot at the same moment: theirs stands
                session.rollback()
    return compute_ms


def recompute_overview(actor: Actor, *, engine: Engine | None = None) -> float | None:
    """A supervisor's "Recompute now": refresh the snapshot at once (every supervisor then sees the new one)."""
    authorize(actor, "view_program", engine=engine)
    return refresh_program_snapshot(engine=engine)


def refresh_in_background() -> None:
    """One refresh by an app server's background loop: skipped when another server's is fresh enough."""
    interval = get_settings().overview_refresh_seconds
    refresh_program_snapshot(skip_if_younger_than=timedelta(seconds=interval / 2))


def main() -> int:
    compute_ms = refresh_program_snapshot()
    print(f"overview snapshot refreshed ({compute_ms} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
