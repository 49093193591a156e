"""Link committed audit rows into the hash chain, in id order: ``python -m db.audit_seal``.

Writers append audit rows without waiting on each other (db.audit): each row has its own keyed hash and an id
from a sequence. The sealer appends one AuditSeal per row, in id order, each covering the previous seal; it is
the only writer that takes the chain lock (``AUDIT_CHAIN_LOCK_ID``), in batches of a few hundred rows, so
several app servers and a cron job may all run it.

Ids are handed out before the rows commit, and a transaction that rolls back leaves its id unused for good. The
sealer must never pass an id whose transaction might still commit (the row would then appear below the sealed
head, which the verifier reports as an inserted row). On PostgreSQL it reads the highest id handed out so far,
then takes a fresh transaction id; every writer got its transaction id before its audit id (db.audit), so once
no transaction of this database older than that fresh one is running, every id up to the one read is committed
or gone for good.
It waits for that (usually a few milliseconds: one write's duration) and seals up to it; ids it skips were rolled
back, a legitimate gap. On SQLite a transaction holding the write lock sees every committed row and no writer is
in flight, so the sealer seals everything.

Before sealing a row the sealer checks the row on its own (hash, keyed MAC): it stops at a row that fails rather
than sealing an altered or forged one, and says which.

Each app server runs it every ``AUDIT_SEAL_INTERVAL_SECONDS`` (db.sweep.start_background_sealer);
``python -m db.audit_verify`` runs it before verifying.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from db.audit import AUDIT_ID_SEQUENCE, ChainPosition, row_problem, seal_hash
from db.audit_keys import AuditKeyMissing, AuditKeys, audit_keys
from db.engine import AUDIT_CHAIN_LOCK_ID, get_engine, utcnow
from db.models import AuditEvent, AuditSeal

log = logging.getLogger(__name__)
BATCH_SIZE = 500
# How long one run waits for the transactions that may still hold lower ids; a run that gives up seals nothing
# and the next run tries again with a newer horizon.
DEFAULT_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class SealResult:
    sealed: int  # rows linked into the chain by this run
    head_id: int | None  # the newest sealed row after it
    blocked_id: int | None = None  # a row that does not verify on its own: sealing stops before it
    problem: str | None = None
    waited_out: bool = False  # PostgreSQL: transactions that may hold lower ids were still running at the deadline


def _sealable_up_to(engine: Engine, wait_seconds: float) -> int | None:
    """PostgreSQL: the highest audit id every one of whose predecessors is committed or rolled back for good, or
    None if the transactions that may still hold one did not end within ``wait_seconds``."""
    with engine.connect() as connection:
        # First the ids handed out so far (sequences are outside transactions, so this includes uncommitted ones)...
        issued = connection.execute(
            text(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {AUDIT_ID_SEQUENCE}")
        ).scalar_one()
        connection.commit()
        # ...then a transaction id: larger than that of every transaction that already held one of those ids.
        horizon = connection.execute(text("SELECT pg_current_xact_id()::text")).scalar_one()
        connection.commit()
        deadline = time.monotonic() + wait_seconds
        delay = 0.002
        while True:
            running = connection.execute(_OLDER_WRITERS_IN_THIS_DATABASE, {"horizon": horizon}).scalar_one()
            connection.commit()  # pg_locks and pg_stat_activity are read afresh in each transaction
            if not running:
                return int(issued)
            if time.monotonic() >= deadline:
                return None
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


# Transactions of this database with a transaction id older than the horizon that are still running: each holds
# an exclusive lock on its own id. (A snapshot's xmin would do too, but counts every database on the server: one
# long transaction elsewhere would hold up sealing here.) age() compares ids within one transaction's view.
_OLDER_WRITERS_IN_THIS_DATABASE = text(
    """
    SELECT count(*) FROM pg_locks AS held JOIN pg_stat_activity AS backend ON backend.pid = held.pid
    WHERE held.locktype = 'transactionid' AND held.mode = 'ExclusiveLock' AND held.granted
      AND backend.datname = current_database()
      AND age(held.transactionid) > age(xid(CAST(:horizon AS xid8)))
    """
)


def _seal_batch(
    session: Session, keys: AuditKeys, up_to: int | None, batch_size: int
) -> tuple[int, int | None, int | None, str | None]:
    """Seal the next rows after the sealed head (at most ``batch_size``, none above ``up_to``) in this transaction.
    Returns (rows sealed, newest sealed id, blocking row id, its problem)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:lock_id)"), {"lock_id": AUDIT_CHAIN_LOCK_ID})
    head = session.execute(
        select(AuditSeal.audit_event_id, AuditSeal.seal_hash).order_by(AuditSeal.audit_event_id.desc()).limit(1)
    ).first()
    head_id, previous_seal = (head.audit_event_id, head.seal_hash) if head else (0, None)
    position = ChainPosition.after(session.get(AuditEvent, head_id) if head else None)
    query = select(AuditEvent).where(AuditEvent.id > head_id).order_by(AuditEvent.id).limit(batch_size)
    if up_to is not None:
        query = query.where(AuditEvent.id <= up_to)
    now = utcnow()
    sealed = 0
    for row in session.scalars(query):
        problem = row_problem(row, position, keys)
        if problem:
            return sealed, head_id or None, row.id, problem
        link = seal_hash(previous_seal, row.id, row.row_hash)
        session.add(
            AuditSeal(
                audit_event_id=row.id, prev_seal_hash=previous_seal, seal_hash=link, seal_mac=keys.seal(link),
                sealed_at=now,
            )
        )
        previous_seal, head_id = link, row.id
        sealed += 1
    session.flush()
    return sealed, head_id or None, None, None


def seal_pending(
    engine: Engine | None = None,
    *,
    keys: AuditKeys | None = None,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    batch_size: int = BATCH_SIZE,
) -> SealResult:
    """Seal every committed audit row that can be sealed now, in batches (each its own short transaction)."""
    engine = engine or get_engine()
    keys = keys or audit_keys()
    up_to = None
    if engine.dialect.name == "postgresql":
        up_to = _sealable_up_to(engine, wait_seconds)
        if up_to is None:
            return SealResult(0, None, waited_out=True)
    total = 0
    head_id: int | None = None
    while True:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            # SQLite: BEGIN IMMEDIATE, the write lock (db.engine): no writer is in flight while we seal.
            session.connection(execution_options={"sqlite_write_lock": True})
            sealed, head_id, blocked_id, problem = _seal_batch(session, keys, up_to, batch_size)
        total += sealed
        if problem:
            log.error("audit sealer stopped at row %s: %s", blocked_id, problem)
            return SealResult(total, head_id, blocked_id, problem)
        if sealed < batch_size:
            return SealResult(total, head_id)


def main(argv: list[str] | None = None) -> int:
    del argv
    try:
        result = seal_pending()
    except AuditKeyMissing as error:
        print(f"audit rows NOT SEALED: {error}", file=sys.stderr)
        return 2
    if result.problem:
        print(f"audit sealer stopped at row id {result.blocked_id}: {result.problem} ({result.sealed} rows sealed)")
        return 1
    if result.waited_out:
        print("audit sealer waited for running transactions that may still write lower ids; nothing sealed, rerun")
        return 1
    head = "the log is empty" if result.head_id is None else f"sealed head: row {result.head_id}"
    print(f"{result.sealed} audit rows sealed; {head}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
