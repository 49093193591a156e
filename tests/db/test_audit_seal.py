"""The audit log is verifiable by someone who does not trust the database (issue 14 item 5).

The attacker here can do anything to the database (drop or bypass the triggers, recompute the plain SHA-256
chain) but has neither the HMAC key nor write access to the checkpoint file.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.exc import DatabaseError, ProgrammingError

from db import audit_verify
from db.audit import AuditActor, _hash_content, record_event, verify_chain
from db.audit_keys import AuditKeyMissing
from db.engine import read_session, write_session
from db.models import AuditEvent

ACTOR = AuditActor(user_id=None, username="tester", role="nurse")


def _write_events(engine: Engine, count: int) -> list[int]:
    ids = []
    for n in range(count):
        with write_session(engine) as session:
            ids.append(record_event(session, ACTOR, "view_chart", data_category="chart", detail=f"event {n}").id)
    return ids


def _as_attacker(engine: Engine, *statements: str, params: dict | None = None) -> None:
    """Run statements with the append-only triggers out of the way, as a database administrator can."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))  # triggers do not fire
        else:
            for trigger in ("audit_events_no_update", "audit_events_no_delete"):
                connection.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
        for statement in statements:
            connection.execute(text(statement), params or {})


def _recompute_plain_chain(engine: Engine) -> None:
    """What an attacker does after editing a row: make every plain hash and link consistent again."""
    with read_session(engine) as session:
        rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    previous = None
    for row in rows:
        row.prev_hash = previous
        row.row_hash = _hash_content(row)
        _as_attacker(
            engine,
            "UPDATE audit_events SET prev_hash = :prev, row_hash = :hash WHERE id = :id",
            params={"prev": row.prev_hash, "hash": row.row_hash, "id": row.id},
        )
        previous = row.row_hash


def _verify(engine: Engine, checkpoints: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = audit_verify.main(["--checkpoints", str(checkpoints), *extra])
    return code, capsys.readouterr().out


def test_an_altered_row_with_its_plain_chain_recomputed_is_named_by_its_keyed_mac(engine: Engine) -> None:
    ids = _write_events(engine, 6)
    _as_attacker(engine, "UPDATE audit_events SET detail = 'nothing to see' WHERE id = :id", params={"id": ids[3]})
    _recompute_plain_chain(engine)
    with read_session(engine) as session:
        result = verify_chain(session)
    assert not result.intact
    assert result.first_bad_id == ids[3] and "keyed MAC does not match" in (result.problem or "")


def test_truncate_is_detected_by_the_checkpoint(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoints = tmp_path / "checkpoints.log"
    _write_events(engine, 4)
    code, out = _verify(engine, checkpoints, capsys, "--checkpoint")
    assert code == 0 and "checkpoint appended" in out, out
    assert len(checkpoints.read_text().splitlines()) == 1
    statement = "TRUNCATE audit_events" if engine.dialect.name == "postgresql" else "DELETE FROM audit_events"
    _as_attacker(engine, statement)
    code, out = _verify(engine, checkpoints, capsys)
    assert code == 1
    assert "the log has 0 rows but the checkpoint" in out and "recorded 5" in out, out


def test_deleting_the_newest_rows_is_detected_by_the_checkpoint(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoints = tmp_path / "checkpoints.log"
    _write_events(engine, 5)
    assert _verify(engine, checkpoints, capsys, "--checkpoint")[0] == 0
    with read_session(engine) as session:
        newest = session.scalar(select(func.max(AuditEvent.id)))
    _as_attacker(engine, "DELETE FROM audit_events WHERE id >= :id", params={"id": newest - 1})
    code, out = _verify(engine, checkpoints, capsys)
    assert code == 1 and "the log has 4 rows but the checkpoint" in out, out


def test_a_forged_checkpoint_line_is_detected(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoints = tmp_path / "checkpoints.log"
    _write_events(engine, 3)
    assert _verify(engine, checkpoints, capsys, "--checkpoint")[0] == 0
    with checkpoints.open("a") as handle:
        handle.write('{"at": "2026-01-01T00:00:00+00:00", "rows": 1, "head_id": 1, "head_hash": "x", "mac": "00:1"}\n')
    code, out = _verify(engine, checkpoints, capsys)
    assert code == 1 and "line 2 is not signed with a known audit key" in out, out


def test_the_key_is_required_to_write_an_audit_row(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIT_HMAC_KEY", "short")
    with pytest.raises(AuditKeyMissing, match="AUDIT_HMAC_KEY"), write_session(engine) as session:
        record_event(session, ACTOR, "login")
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_a_rotated_key_still_verifies_the_rows_it_sealed(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    old_key, new_key = "old-" + uuid.uuid4().hex * 2, "new-" + uuid.uuid4().hex * 2
    monkeypatch.setenv("AUDIT_HMAC_KEY", old_key)
    _write_events(engine, 2)
    monkeypatch.setenv("AUDIT_HMAC_KEY", new_key)
    monkeypatch.setenv("AUDIT_HMAC_PREVIOUS_KEYS", old_key)
    _write_events(engine, 2)
    with read_session(engine) as session:
        assert verify_chain(session).intact
    monkeypatch.delenv("AUDIT_HMAC_PREVIOUS_KEYS")
    with read_session(engine) as session:
        result = verify_chain(session)
    assert not result.intact and "not configured here" in (result.problem or "")


def test_rows_from_before_the_key_verify_as_a_prefix_but_stripping_every_seal_is_detected(engine: Engine) -> None:
    ids = _write_events(engine, 4)
    # Rows written before migration 0008 have no MAC; the first sealed row after them covers their chain.
    _as_attacker(engine, "UPDATE audit_events SET row_mac = NULL WHERE id <= :id", params={"id": ids[1]})
    with read_session(engine) as session:
        result = verify_chain(session)
    assert result.intact and result.legacy_rows == 2 and result.rows_checked == 4
    _as_attacker(engine, "UPDATE audit_events SET row_mac = NULL WHERE id = :id", params={"id": ids[3]})
    with read_session(engine) as session:
        result = verify_chain(session)
    assert result.first_bad_id == ids[3] and "seal was removed" in (result.problem or "")
    _as_attacker(engine, "UPDATE audit_events SET row_mac = NULL")
    with read_session(engine) as session:
        result = verify_chain(session)
    assert not result.intact and "newest row has no keyed MAC" in (result.problem or "")


def test_postgresql_refuses_truncate_of_the_audit_log(engine: Engine, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; its DELETE trigger covers DELETE without WHERE")
    _write_events(engine, 2)
    with pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"), engine.begin() as connection:
        connection.execute(text("TRUNCATE audit_events CASCADE"))
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 2


def test_an_insert_and_select_only_role_cannot_update_delete_or_truncate_the_log(engine: Engine, backend: str) -> None:
    """The grants the README documents for the app's PostgreSQL role, applied to a scratch role."""
    if backend != "postgresql":
        pytest.skip("database roles are PostgreSQL's")
    _write_events(engine, 1)
    role = f"iop_audit_app_{uuid.uuid4().hex[:8]}"
    with engine.begin() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN"))
        connection.execute(text(f"GRANT SELECT, INSERT ON audit_events TO {role}"))
        connection.execute(text(f"GRANT USAGE ON SEQUENCE audit_events_id_seq TO {role}"))
    app_engine = create_engine(engine.url.set(username=role).render_as_string(hide_password=False))
    try:
        with app_engine.begin() as connection:  # what it may do
            assert connection.execute(text("SELECT count(*) FROM audit_events")).scalar() == 1
        for statement in ("UPDATE audit_events SET detail = 'x'", "DELETE FROM audit_events", "TRUNCATE audit_events"):
            with pytest.raises(ProgrammingError, match="permission denied"), app_engine.begin() as connection:
                connection.execute(text(statement))
    finally:
        app_engine.dispose()
        with engine.begin() as connection:
            connection.execute(text(f"REVOKE ALL ON audit_events FROM {role}"))
            connection.execute(text(f"REVOKE ALL ON SEQUENCE audit_events_id_seq FROM {role}"))
            connection.execute(text(f"DROP ROLE {role}"))
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 1


def test_the_start_up_check_names_a_missing_audit_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from db import audit_keys

    assert audit_keys.audit_key_problem() is None
    monkeypatch.setenv("AUDIT_HMAC_KEY", "")
    monkeypatch.setattr(audit_keys, "SECRETS_PATH", tmp_path / "absent.toml")
    audit_keys._load.cache_clear()
    assert "AUDIT_HMAC_KEY" in (audit_keys.audit_key_problem() or "")
    audit_keys._load.cache_clear()
