"""The audit log: one function writes an event inside the caller's transaction, chained by hash.

Each row's hash covers its content and the previous row's hash, so altering or removing a row breaks
the chain from that row on; ``python -m db.audit_verify`` names the first row that fails.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

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
    """Append one audit event in ``session``'s transaction (it commits or rolls back with the write)."""
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
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainCheck:
    rows_checked: int
    first_bad_id: int | None
    problem: str | None

    @property
    def intact(self) -> bool:
        return self.first_bad_id is None


def verify_chain(session: Session, *, batch_size: int = 5000) -> ChainCheck:
    """Walk the audit log in id order and report the first row whose hash or link does not match."""
    previous_hash: str | None = None
    checked = 0
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch_size)
        ).all()
        if not rows:
            return ChainCheck(checked, None, None)
        for row in rows:
            if row.prev_hash != previous_hash:
                return ChainCheck(checked, row.id, "its link to the previous row does not match (a row was removed)")
            if row.row_hash != _hash_content(row):
                return ChainCheck(checked, row.id, "content does not match its hash (the row was altered)")
            previous_hash = row.row_hash
            checked += 1
            last_id = row.id
        session.expunge_all()
