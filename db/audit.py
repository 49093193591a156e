"""The audit log: one function writes an event inside the caller's transaction; a sealer chains them by hash.

Each row carries its own SHA-256 hash over its content and its id, and ``row_mac``, an HMAC-SHA256 of that hash
under a key kept outside the database (db.audit_keys): a row cannot be altered, moved to another id or forged
without the key. Writers take no lock for this, so writes to different patients run in parallel.

The sealer (db.audit_seal) then links committed rows into one hash chain in id order, appending an AuditSeal
per row (its hash covers the previous seal and the row's id and hash; its HMAC is keyed too): a row removed,
reordered or slipped in below the sealed head breaks the chain. Signed checkpoints outside the database
(db.audit_checkpoints) record the row count and sealed head, which catches a log cut short.

Rows written before migration 0013 chain in the row itself (``prev_hash`` is the previous row's hash, which
their hash covers); rows written before the key existed (``row_mac`` NULL, before 0008) are accepted only as a
prefix of the log. The sealer seals them like any other row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from db.audit_checkpoints import Checkpoint
from db.audit_keys import AuditKeys, audit_keys
from db.engine import utcnow
from db.models import AuditEvent, AuditSeal

# The sequence behind audit_events.id (PostgreSQL's SERIAL): the id is taken before the row is written so that
# the row's hash can cover it.
AUDIT_ID_SEQUENCE = "audit_events_id_seq"


@dataclass(frozen=True)
class AuditActor:
    """Who did it: enough to write an audit row (an Actor from db.permissions satisfies this)."""

    user_id: int | None
    username: str | None
    role: str | None


def _content(event: AuditEvent) -> dict[str, object]:
    return {
        "at": event.at.isoformat(timespec="microseconds"),
        "user_id": event.user_id,
        "username": event.username,
        "role": event.role,
        "action": event.action,
        "patient_id": event.patient_id,
        "data_category": event.data_category,
        "record_type": event.record_type,
        "record_id": event.record_id,
        "outcome": event.outcome,
        "detail": event.detail,
    }


def _digest(content: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _hash_content(event: AuditEvent) -> str:
    """The row's own hash: its content bound to its id, so a copy of a sealed row at another id does not verify."""
    return _digest({**_content(event), "id": event.id})


def _legacy_hash_content(event: AuditEvent) -> str:
    """The hash of a row written before migration 0013: its content and the previous row's hash."""
    return _digest({**_content(event), "prev_hash": event.prev_hash})


def seal_hash(prev_seal_hash: str | None, audit_event_id: int, row_hash: str | None) -> str:
    """The chain link the sealer writes for one row: the previous link, the row's id and the row's own hash."""
    return _digest({"prev_seal_hash": prev_seal_hash, "audit_event_id": audit_event_id, "row_hash": row_hash})


def _next_audit_id(session: Session) -> int:
    if session.get_bind().dialect.name == "postgresql":
        # The transaction id is assigned first (the CTE is read before nextval runs): every transaction holding an
        # audit id then has a transaction id older than the sealer's horizon, which is how the sealer knows when
        # all ids below it are committed or gone (db.audit_seal). No lock: writers never wait on each other here.
        return int(session.connection().execute(_NEXT_ID_POSTGRESQL).scalar_one())
    # SQLite: the transaction holds the database's one write lock (BEGIN IMMEDIATE), so the next id is ours.
    return int(session.connection().execute(_NEXT_ID_SQLITE).scalar_one())


# Built once (every write takes one or more ids).
_NEXT_ID_POSTGRESQL = text(
    "WITH assigned AS MATERIALIZED (SELECT pg_current_xact_id()) "
    f"SELECT nextval('{AUDIT_ID_SEQUENCE}') FROM assigned"
)
_NEXT_ID_SQLITE = select(func.coalesce(func.max(AuditEvent.id), 0) + 1)


def record_event(
    session: Session,
    actor: AuditActor | None,
    action: str,
    *,
    outcome: str = "success",
    patient_id: int | None = None,
    data_category: str | None = None,
    record_type: str | None = None,
    record_id: object = None,
    detail: str | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one audit event in ``session``'s transaction (it commits or rolls back with the write).

    Raises AuditKeyMissing (and so writes nothing) when no audit key is configured: an unsealed row could be
    rewritten by anyone with database access without trace.
    """
    keys = audit_keys()
    session.flush()  # the write's pending rows go first (as the ORM's autoflush did before the id was read)
    event = AuditEvent(
        id=_next_audit_id(session),
        at=at or utcnow(),
        user_id=actor.user_id if actor else None,
        username=actor.username if actor else None,
        role=actor.role if actor else None,
        action=action,
        patient_id=patient_id,
        data_category=data_category,
        record_type=record_type,
        record_id=None if record_id is None else str(record_id),
        outcome=outcome,
        detail=detail,
    )
    event.row_hash = _hash_content(event)
    event.row_mac = keys.seal(event.row_hash)
    # A plain INSERT, not the ORM's unit of work: the row is never changed in this transaction, and the ORM's
    # bookkeeping cost more CPU than the statement (every write records one or more events).
    session.connection().execute(_INSERT_EVENT, {column: getattr(event, column) for column in _EVENT_COLUMNS})
    return event


_EVENT_COLUMNS = tuple(column.key for column in AuditEvent.__table__.columns)
_INSERT_EVENT = AuditEvent.__table__.insert()


@dataclass
class ChainPosition:
    """What checking a row needs to know about the rows before it, in id order."""

    previous_row_hash: str | None = None
    legacy: bool = True  # no row in the current format yet: rows may still chain in the row (before 0013)
    keyed: bool = False  # a row with a keyed MAC was seen: rows without one may no longer follow

    @classmethod
    def after(cls, row: AuditEvent | None) -> ChainPosition:
        """The position just after ``row`` (None: the start of the log), for a check that resumes there."""
        if row is None:
            return cls()
        return cls(row.row_hash, legacy=row.row_hash != _hash_content(row), keyed=row.row_mac is not None)


def row_problem(row: AuditEvent, position: ChainPosition, keys: AuditKeys) -> str | None:
    """Why ``row`` does not verify on its own (its hash, its keyed MAC, and for rows from before migration 0013
    their in-row link), or None; advances ``position`` past it when it verifies."""
    current = row.row_hash == _hash_content(row)
    if current:
        if row.prev_hash is not None:
            return "it links to a previous row although its hash does not cover the link (the row was altered)"
        if row.row_mac is None:
            return "it has no keyed MAC (its MAC was removed)"
    elif position.legacy and row.row_hash == _legacy_hash_content(row):
        if row.prev_hash != position.previous_row_hash:
            return "its link to the previous row does not match (a row was removed)"
        if row.row_mac is None and position.keyed:
            return "it has no keyed MAC although earlier rows have one (its MAC was removed)"
    else:
        return "content does not match its hash (the row was altered)"
    if row.row_mac is not None and not keys.check(row.row_hash or "", row.row_mac):
        return (
            "its keyed MAC does not match (the row was altered and its hash recomputed, or it was sealed with a key "
            "not configured here)"
        )
    position.previous_row_hash = row.row_hash
    position.legacy = position.legacy and not current
    position.keyed = position.keyed or row.row_mac is not None
    return None


def seal_problem(row: AuditEvent, seal: AuditSeal, previous_seal_hash: str | None, keys: AuditKeys) -> str | None:
    """Why ``seal`` does not link ``row`` into the chain after the seal ``previous_seal_hash``, or None."""
    if seal.prev_seal_hash != previous_seal_hash:
        return (
            "its seal does not link to the previous sealed row's (a sealed row before it was removed, or the seals "
            "were rewritten)"
        )
    if seal.seal_hash != seal_hash(seal.prev_seal_hash, row.id, row.row_hash):
        return "its seal does not match the row (the row or its seal was altered)"
    if not keys.check(seal.seal_hash, seal.seal_mac):
        return "its seal's keyed MAC does not match (the seal was forged or sealed with a key not configured here)"
    return None


@dataclass(frozen=True)
class ChainCheck:
    rows_checked: int
    first_bad_id: int | None
    problem: str | None
    legacy_rows: int = 0  # rows from before the key existed, covered by the first keyed row and by their seals
    checkpoints_checked: int = 0
    head_id: int | None = None  # the newest sealed row, which a new checkpoint pins
    head_hash: str | None = None
    sealed_rows: int = 0
    pending_rows: int = 0  # committed rows the sealer has not linked yet (newer than the sealed head)
    oldest_pending_at: datetime | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


@dataclass
class _Walk:
    checked: int = 0
    legacy: int = 0
    sealed: int = 0
    head_id: int | None = None
    head_hash: str | None = None
    previous_seal_hash: str | None = None
    pending: list[tuple[int, datetime]] = field(default_factory=list)


def verify_chain(
    session: Session,
    *,
    keys: AuditKeys | None = None,
    checkpoints: list[Checkpoint] | None = None,
    batch_size: int = 5000,
) -> ChainCheck:
    """Walk the audit log in id order and report the first row whose own hash or keyed MAC does not match, or
    whose seal does not link it into the chain; a row missing below the sealed head; or a checkpoint the log no
    longer reaches (rows deleted from its end, or the table truncated). Rows newer than the sealed head are
    checked on their own and counted as pending seal, not as a failure."""
    keys = keys or audit_keys()
    checkpoints = checkpoints or []
    by_rows: dict[int, list[Checkpoint]] = {}
    for checkpoint in checkpoints:
        by_rows.setdefault(checkpoint.rows, []).append(checkpoint)
    position = ChainPosition()
    walk = _Walk()
    last_id = 0

    def broken(row_id: int | None, problem: str) -> ChainCheck:
        return ChainCheck(
            walk.checked, row_id, problem, walk.legacy, len(checkpoints), sealed_rows=walk.sealed,
            pending_rows=len(walk.pending),
        )

    while True:
        batch = session.execute(
            select(AuditEvent, AuditSeal)
            .outerjoin(AuditSeal, AuditSeal.audit_event_id == AuditEvent.id)
            .where(AuditEvent.id > last_id)
            .order_by(AuditEvent.id)
            .limit(batch_size)
        ).all()
        if not batch:
            break
        for row, seal in batch:
            problem = row_problem(row, position, keys)
            if problem:
                return broken(row.id, problem)
            if seal is not None:
                if walk.pending:
                    return broken(
                        walk.pending[0][0],
                        f"it has no seal although row {row.id} after it is sealed (the row was inserted after the "
                        "sealer passed its id, or its seal was removed)",
                    )
                problem = seal_problem(row, seal, walk.previous_seal_hash, keys)
                if problem:
                    return broken(row.id, problem)
                walk.previous_seal_hash = seal.seal_hash
                walk.sealed += 1
            else:
                walk.pending.append((row.id, row.at))
            if row.row_mac is None:
                walk.legacy += 1
            walk.checked += 1
            last_id = row.id
            if seal is not None:
                walk.head_id, walk.head_hash = row.id, row.row_hash
            for checkpoint in by_rows.get(walk.checked, []):
                if (checkpoint.head_id, checkpoint.head_hash) != (row.id, row.row_hash):
                    return broken(
                        row.id,
                        f"row {walk.checked} differs from the checkpoint of {checkpoint.at} (line {checkpoint.line}): "
                        "the log was rewritten up to it",
                    )
        session.expunge_all()
    if walk.checked and not position.keyed:
        return broken(
            None,
            "the newest row has no keyed MAC: either no row was written since the key was configured (write a "
            "checkpoint, which records a keyed row) or every MAC was stripped",
        )
    seals, newest_seal = session.execute(
        select(func.count(), func.max(AuditSeal.audit_event_id)).select_from(AuditSeal)
    ).one()
    if seals != walk.sealed or newest_seal != walk.head_id:
        return broken(
            newest_seal,
            f"{seals} seals but {walk.sealed} sealed rows: the seal of row {newest_seal} has no row (sealed rows were "
            "deleted from the end of the log)",
        )
    for checkpoint in sorted(checkpoints, key=lambda found: found.rows, reverse=True):
        if checkpoint.rows > walk.checked:
            return broken(
                None,
                f"the log has {walk.checked} rows but the checkpoint of {checkpoint.at} (line {checkpoint.line}) "
                f"recorded {checkpoint.rows}: rows were deleted from its end or the table was truncated",
            )
    return ChainCheck(
        walk.checked,
        None,
        None,
        walk.legacy,
        len(checkpoints),
        walk.head_id,
        walk.head_hash,
        sealed_rows=walk.sealed,
        pending_rows=len(walk.pending),
        oldest_pending_at=walk.pending[0][1] if walk.pending else None,
    )
