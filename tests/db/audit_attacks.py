"""What an attacker with full database access (but neither the audit key nor the checkpoint file) does to the
audit log, and a writer of rows the way the code before migration 0013 wrote them."""

from __future__ import annotations

import sqlite3

from sqlalchemy import Engine, select, text

from db.audit import AuditActor, _hash_content, _legacy_hash_content, record_event, seal_hash
from db.audit_keys import audit_keys
from db.engine import read_session, utcnow, write_session
from db.models import AuditEvent, AuditSeal

ACTOR = AuditActor(user_id=None, username="tester", role="nurse")
APPEND_ONLY_TRIGGERS = (
    "audit_events_no_update",
    "audit_events_no_delete",
    "audit_seals_no_update",
    "audit_seals_no_delete",
)


def write_events(engine: Engine, count: int, *, start: int = 0) -> list[int]:
    ids = []
    for n in range(start, start + count):
        with write_session(engine) as session:
            ids.append(record_event(session, ACTOR, "view_chart", data_category="chart", detail=f"event {n}").id)
    return ids


def as_attacker(engine: Engine, *statements: str, params: dict | None = None) -> None:
    """Run statements with the append-only triggers and the foreign keys out of the way, as a database
    administrator can."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL session_replication_role = replica"))  # triggers do not fire
            for statement in statements:
                connection.execute(text(statement), params or {})
        return
    # A plain sqlite3 connection: foreign keys are off unless a connection turns them on (db.engine does).
    connection = sqlite3.connect(str(engine.url.database))
    try:
        for trigger in APPEND_ONLY_TRIGGERS:
            connection.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        for statement in statements:
            connection.execute(statement, params or {})
        connection.commit()
    finally:
        connection.close()


def recompute_plain_hashes(engine: Engine) -> None:
    """What an attacker does after editing a row: make every plain hash consistent again, the row's own and the
    seal chain's (SHA-256 needs no key; the MACs do)."""
    with read_session(engine) as session:
        rows = list(session.execute(select(AuditEvent, AuditSeal).outerjoin(AuditSeal).order_by(AuditEvent.id)))
    previous_seal = None
    for row, seal in rows:
        row_hash = _hash_content(row)
        as_attacker(
            engine, "UPDATE audit_events SET row_hash = :hash WHERE id = :id", params={"hash": row_hash, "id": row.id}
        )
        if seal is not None:
            link = seal_hash(previous_seal, row.id, row_hash)
            as_attacker(
                engine,
                "UPDATE audit_seals SET prev_seal_hash = :prev, seal_hash = :link WHERE audit_event_id = :id",
                params={"prev": previous_seal, "link": link, "id": row.id},
            )
            previous_seal = link


def write_legacy_rows(engine: Engine, count: int, *, keyed: bool) -> list[int]:
    """Rows as written before migration 0013 (chained in the row by ``prev_hash``) and, unless ``keyed``, before
    0008 (no keyed MAC)."""
    ids = []
    with write_session(engine) as session:
        for n in range(count):
            previous = session.scalar(select(AuditEvent.row_hash).order_by(AuditEvent.id.desc()).limit(1))
            event = AuditEvent(
                at=utcnow(), username="old", role="nurse", action="view_chart", outcome="success",
                detail=f"legacy {n}", prev_hash=previous,
            )
            event.row_hash = _legacy_hash_content(event)
            event.row_mac = audit_keys().seal(event.row_hash) if keyed else None
            session.add(event)
            session.flush()
            ids.append(event.id)
    return ids
