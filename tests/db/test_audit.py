"""The audit log is append-only in the database itself and tamper-evident through its hashes and sealed chain."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DatabaseError

from db.audit import record_event, verify_chain
from db.audit_seal import seal_pending
from db.engine import read_session, write_session
from db.models import AuditEvent
from tests.db.audit_attacks import ACTOR, as_attacker, write_events


def test_chain_of_untouched_rows_verifies_pending_then_sealed(engine: Engine) -> None:
    write_events(engine, 5)
    with read_session(engine) as session:
        result = verify_chain(session)
    assert result.intact and result.rows_checked == 5
    assert (result.sealed_rows, result.pending_rows) == (0, 5)  # not sealed yet: checked on their own, not failures
    assert seal_pending(engine).sealed == 5
    with read_session(engine) as session:
        result = verify_chain(session)
    assert result.intact and (result.rows_checked, result.sealed_rows, result.pending_rows) == (5, 5, 0)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET detail = 'x'",
        "DELETE FROM audit_events",
        "UPDATE audit_seals SET seal_hash = 'x'",
        "DELETE FROM audit_seals",
    ],
)
def test_database_refuses_update_and_delete_of_audit_rows_and_seals(engine: Engine, statement: str) -> None:
    write_events(engine, 2)
    seal_pending(engine)
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    with read_session(engine) as session:
        assert session.scalar(select(AuditEvent.detail).order_by(AuditEvent.id)) == "event 0"
        assert verify_chain(session).sealed_rows == 2


def test_altered_row_is_named_by_the_chain_check(engine: Engine) -> None:
    ids = write_events(engine, 6)
    seal_pending(engine)
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


def test_an_altered_row_that_is_not_sealed_yet_is_named_and_never_sealed(engine: Engine) -> None:
    ids = write_events(engine, 4)
    as_attacker(engine, "UPDATE audit_events SET action = 'login' WHERE id = :id", params={"id": ids[2]})
    result = seal_pending(engine)
    assert (result.sealed, result.blocked_id) == (2, ids[2]) and "altered" in (result.problem or "")
    with read_session(engine) as session:
        check = verify_chain(session)
    assert check.first_bad_id == ids[2] and check.sealed_rows == 2


def test_audit_row_is_rolled_back_with_a_failed_write(engine: Engine) -> None:
    with pytest.raises(RuntimeError), write_session(engine) as session:
        record_event(session, ACTOR, "prescribe", data_category="medication")
        raise RuntimeError("the write failed after the audit row")
    with read_session(engine) as session:
        assert session.scalar(select(AuditEvent.id)) is None
