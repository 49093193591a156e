"""The audit log: one function writes an event inside the caller's transaction, chained by hash.

Each row's hash covers its content and the previous row's hash, so altering or removing a row breaks
the chain from that row on; ``python -m db.audit_verify`` names the first row that fails.

The plain SHA-256 chain can be recomputed by anyone who can write the database, so each row is also sealed:
``row_mac`` is an HMAC-SHA256 of its hash under a key kept outside the database (db.audit_keys). Signed
checkpoints outside the database (db.audit_checkpoints) record the row count and head hash, which catches a
log cut short. Rows written before the key existed (``row_mac`` NULL) are accepted only as a prefix of the
log: the first sealed row's hash covers their chain, so they cannot be changed without breaking its seal.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db.audit_checkpoints import Checkpoint
from db.audit_keys import AuditKeys, audit_keys
from db.engine import AUDIT_CHAIN_LOCK_ID, utcnow
from db.models import AuditEvent


@dataclass(frozen=True)
class AuditActor:
    """Who did it: enough to write an audit row (an Actor from db.permissions satisfies this)."""

    user_id: int | None
    username: str | None
    role: str | None


def _hash_content(event: AuditEvent) -> str:
    content = {
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
        "prev_hash": event.prev_hash,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


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
    if session.get_bind().dialect.name == "postgresql":
        # Normally already held since the transaction began (db.engine.write_session); re-entrant.
        session.execute(text("SELECT pg_advisory_xact_lock(:lock_id)"), {"lock_id": AUDIT_CHAIN_LOCK_ID})
    prev_hash = session.scalar(select(AuditEvent.row_hash).order_by(AuditEvent.id.desc()).limit(1))
    event = AuditEvent(
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
        prev_hash=prev_hash,
    )
    event.row_hash = _hash_content(event)
    event.row_mac = keys.seal(event.row_hash)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainCheck:
    rows_checked: int
    first_bad_id: int | None
    problem: str | None
    legacy_rows: int = 0  # rows from before the key existed, covered by the first sealed row's seal
    checkpoints_checked: int = 0
    head_id: int | None = None  # the newest row verified, which a new checkpoint pins
    head_hash: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


def verify_chain(
    session: Session,
    *,
    keys: AuditKeys | None = None,
    checkpoints: list[Checkpoint] | None = None,
    batch_size: int = 5000,
) -> ChainCheck:
    """Walk the audit log in id order and report the first row whose hash, link or keyed MAC does not match,
    or a checkpoint the log no longer reaches (rows deleted from its end, or the table truncated)."""
    keys = keys or audit_keys()
    checkpoints = checkpoints or []
    by_rows: dict[int, list[Checkpoint]] = {}
    for checkpoint in checkpoints:
        by_rows.setdefault(checkpoint.rows, []).append(checkpoint)
    previous_hash: str | None = None
    checked = legacy = 0
    last_id = 0
    sealed_seen = False

    def broken(row_id: int | None, problem: str) -> ChainCheck:
        return ChainCheck(checked, row_id, problem, legacy, len(checkpoints))

    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch_size)
        ).all()
        if not rows:
            break
        for row in rows:
            if row.prev_hash != previous_hash:
                return broken(row.id, "its link to the previous row does not match (a row was removed)")
            if row.row_hash != _hash_content(row):
                return broken(row.id, "content does not match its hash (the row was altered)")
            if row.row_mac is None:
                if sealed_seen:
                    return broken(row.id, "it has no keyed MAC although earlier rows have one (its seal was removed)")
                legacy += 1
            elif not keys.check(row.row_hash or "", row.row_mac):
                return broken(
                    row.id,
                    "its keyed MAC does not match (the row was altered and the plain chain recomputed, or it was "
                    "sealed with a key not configured here)",
                )
            else:
                sealed_seen = True
            previous_hash = row.row_hash
            checked += 1
            last_id = row.id
            for checkpoint in by_rows.get(checked, []):
                if (checkpoint.head_id, checkpoint.head_hash) != (row.id, row.row_hash):
                    return broken(
                        row.id,
                        f"row {checked} differs from the checkpoint of {checkpoint.at} (line {checkpoint.line}): "
                        "the log was rewritten up to it",
                    )
        session.expunge_all()
    if checked and not sealed_seen:
        return broken(
            None,
            "the newest row has no keyed MAC: either no row was written since the key was configured (write a "
            "checkpoint, which records a sealed row) or every seal was stripped",
        )
    for checkpoint in sorted(checkpoints, key=lambda found: found.rows, reverse=True):
        if checkpoint.rows > checked:
            return broken(
                None,
                f"the log has {checked} rows but the checkpoint of {checkpoint.at} (line {checkpoint.line}) recorded "
                f"{checkpoint.rows}: rows were deleted from its end or the table was truncated",
            )
    return ChainCheck(checked, None, None, legacy, len(checkpoints), last_id or None, previous_hash)
