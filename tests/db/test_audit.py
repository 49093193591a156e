"""The audit log is append-only in the database itself and tamper-evident through its hash chain."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DatabaseError

from db.audit import AuditActor, record_event, verify_chain
from db.engine import read_session, write_session
from db.models import AuditEvent

ACTOR = AuditActor(user_id=None, username="tester", role="nurse")


def _write_events(engine: Engine, count: int) -> list[int]:
    ids = []
    for n in range(count):
        with write_session(engine) as session:
            ids.append(record_event(session, ACTOR, "view_chart", data_category="chart", detail=f"event {n}").id)
    return ids


def test_chain_of_untouched_rows_verifies(engine: Engine) -> None:
    _write_events(engine, 5)
    with read_session(engine) as session:
        result = verify_chain(session)
    assert result.intact and result.rows_checked == 5


@pytest.mark.parametrize("statement", ["UPDATE audit_events SET detail = 'x'", "DELETE FROM audit_events"])
def test_database_refuses_update_and_delete_of_audit_rows(engine: Engine, statement: str) -> None:
    _write_events(engine, 2)
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    with read_session(engine) as session:
        assert session.scalar(select(AuditEvent.detail).order_by(AuditEvent.id)) == "event 0"


def test_altered_row_is_named_by_the_chain_check(engine: Engine) -> None:
    ids = _write_events(engine, 6)
    tampered = ids[3]
    # An attacker with database access drops the trigger and edits a row: the chain check still finds it.
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        else:
            connection.execute(text("DROP TRIGGER audit_events_no_update"))
        connection.execute(text("UPDATE audit_events SET detail = 'nothing to see' WHERE id = :id"), {"id": tampered})
    with read_session(engine) as session:
        result = verify_chain(session)
    assert not result.intact
    assert result.first_bad_id == tampered
    assert result.rows_checked == 3


def test_audit_row_is_rolled_back_with_a_failed_write(engine: Engine) -> None:
    with pytest.raises(RuntimeError), write_session(engine) as session:
        record_event(session, ACTOR, "prescribe", data_category="medication")
        raise RuntimeError("the write failed after the audit row")
    with read_session(engine) as session:
        assert session.scalar(select(AuditEvent.id)) is None
