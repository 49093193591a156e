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
from db.audit import AuditActor, record_event, verify_chain
from db.audit_keys import AuditKeyMissing
from db.audit_seal import seal_pending
from db.engine import read_session, write_session
from db.models import AuditEvent, AuditSeal
from tests.db.audit_attacks import as_attacker, recompute_plain_hashes, write_events, write_legacy_rows

ACTOR = AuditActor(user_id=None, username="tester", role="nurse")
_write_events = write_events
_as_attacker = as_attacker


def _verify(engine: Engine, checkpoints: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = audit_verify.main(["--checkpoints", str(checkpoints), *extra])
    return code, capsys.readouterr().out


@pytest.mark.parametrize("sealed", [True, False], ids=["sealed", "pending"])
def test_an_altered_row_with_its_plain_hashes_recomputed_is_named_by_its_keyed_mac(
    engine: Engine, sealed: bool
) -> None:
    ids = _write_events(engine, 6)
    if sealed:
        seal_pending(engine)
    _as_attacker(engine, "UPDATE audit_events SET detail = 'nothing to see' WHERE id = :id", params={"id": ids[3]})
    recompute_plain_hashes(engine)
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
    if engine.dialect.name == "postgresql":
        _as_attacker(engine, "TRUNCATE audit_events, audit_seals")
    else:
        _as_attacker(engine, "DELETE FROM audit_seals", "DELETE FROM audit_events")
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
    # A careful attacker removes the rows' seals too, so that the seal chain itself stays whole.
    _as_attacker(
        engine,
        "DELETE FROM audit_seals WHERE audit_event_id >= :id",
        "DELETE FROM audit_events WHERE id >= :id",
        params={"id": newest - 1},
    )
    code, out = _verify(engine, checkpoints, capsys)
    assert code == 1 and "the log has 4 rows but the checkpoint" in out, out


def test_deleting_the_newest_rows_but_not_their_seals_is_detected_without_a_checkpoint(engine: Engine) -> None:
    ids = _write_events(engine, 4)
    seal_pending(engine)
    _as_attacker(engine, "DELETE FROM audit_events WHERE id = :id", params={"id": ids[-1]})
    with read_session(engine) as session:
        result = verify_chain(session)
    assert result.first_bad_id == ids[-1] and "has no row" in (result.problem or "")


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
    seal_pending(engine)
    monkeypatch.setenv("AUDIT_HMAC_KEY", new_key)
    monkeypatch.setenv("AUDIT_HMAC_PREVIOUS_KEYS", old_key)
    _write_events(engine, 2)
    seal_pending(engine)
    with read_session(engine) as session:
        result = verify_chain(session)
    assert result.intact and result.sealed_rows == 4
    monkeypatch.delenv("AUDIT_HMAC_PREVIOUS_KEYS")
    with read_session(engine) as session:
        result = verify_chain(session)
    assert not result.intact and "not configured here" in (result.problem or "")


def test_rows_from_before_the_key_verify_as_a_prefix_but_stripping_every_mac_is_detected(engine: Engine) -> None:
    # Rows written before migration 0008 have no MAC and chain in the row (before 0013); the sealer seals them
    # like any other row, and keyed rows after them may not lose their MAC.
    legacy = write_legacy_rows(engine, 2, keyed=False)
    ids = legacy + _write_events(engine, 2)
    assert seal_pending(engine).sealed == 4
    with read_session(engine) as session:
        result = verify_chain(session)
    assert result.intact and result.legacy_rows == 2 and (result.rows_checked, result.sealed_rows) == (4, 4)
    _as_attacker(engine, "UPDATE audit_events SET row_mac = NULL WHERE id = :id", params={"id": ids[3]})
    with read_session(engine) as session:
        result = verify_chain(session)
    assert result.first_bad_id == ids[3] and "no keyed MAC" in (result.problem or "")
    _as_attacker(engine, "UPDATE audit_events SET row_mac = NULL")
    with read_session(engine) as session:
        result = verify_chain(session)
    assert not result.intact and result.first_bad_id == ids[2]


def test_rows_from_before_the_sealer_keep_their_in_row_chain_and_are_sealed_with_the_new_ones(engine: Engine) -> None:
    legacy = write_legacy_rows(engine, 4, keyed=True)
    _write_events(engine, 2)
    with read_session(engine) as session:
        assert verify_chain(session).intact
    # A legacy row removed before the upgrade's first sealing: its successor's in-row link names the gap, and
    # the sealer refuses to seal past it.
    _as_attacker(engine, "DELETE FROM audit_events WHERE id = :id", params={"id": legacy[1]})
    result = seal_pending(engine)
    assert (result.sealed, result.blocked_id) == (1, legacy[2]) and "link to the previous row" in (result.problem or "")
    with read_session(engine) as session:
        check = verify_chain(session)
    assert check.first_bad_id == legacy[2] and "a row was removed" in (check.problem or "")


def test_the_verifier_seals_first_and_reports_the_sealed_chain(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_legacy_rows(engine, 2, keyed=True)
    _write_events(engine, 3)
    code, out = _verify(engine, tmp_path / "checkpoints.log", capsys)
    assert code == 0 and "5 rows checked" in out and "5 sealed into the chain" in out, out
    assert "pending seal" not in out
    _write_events(engine, 2)
    code, out = _verify(engine, tmp_path / "checkpoints.log", capsys, "--no-seal")
    assert code == 0 and "5 sealed into the chain; 2 newer rows pending seal" in out, out
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(AuditSeal)) == 5


def test_postgresql_refuses_truncate_of_the_audit_log(engine: Engine, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; its DELETE trigger covers DELETE without WHERE")
    _write_events(engine, 2)
    seal_pending(engine)
    for table in ("audit_events", "audit_seals"):
        with pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"), engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {table} CASCADE"))
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 2
        assert session.scalar(select(func.count()).select_from(AuditSeal)) == 2


def test_an_insert_and_select_only_role_cannot_update_delete_or_truncate_the_log(engine: Engine, backend: str) -> None:
    """The grants the README documents for the app's PostgreSQL role, applied to a scratch role."""
    if backend != "postgresql":
        pytest.skip("database roles are PostgreSQL's")
    _write_events(engine, 1)
    role = f"iop_audit_app_{uuid.uuid4().hex[:8]}"
    with engine.begin() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN"))
        connection.execute(text(f"GRANT SELECT, INSERT ON audit_events, audit_seals TO {role}"))
        connection.execute(text(f"GRANT USAGE, SELECT ON SEQUENCE audit_events_id_seq TO {role}"))
    app_engine = create_engine(engine.url.set(username=role).render_as_string(hide_password=False))
    try:
        # What it may do: write audit rows and seal them.
        _write_events(app_engine, 1)
        assert seal_pending(app_engine).sealed == 2
        with app_engine.begin() as connection:
            assert connection.execute(text("SELECT count(*) FROM audit_events")).scalar() == 2
        for statement in (
            "UPDATE audit_events SET detail = 'x'",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
            "UPDATE audit_seals SET seal_hash = 'x'",
            "DELETE FROM audit_seals",
            "TRUNCATE audit_seals",
        ):
            with pytest.raises(ProgrammingError, match="permission denied"), app_engine.begin() as connection:
                connection.execute(text(statement))
    finally:
        app_engine.dispose()
        with engine.begin() as connection:
            connection.execute(text(f"REVOKE ALL ON audit_events, audit_seals FROM {role}"))
            connection.execute(text(f"REVOKE ALL ON SEQUENCE audit_events_id_seq FROM {role}"))
            connection.execute(text(f"DROP ROLE {role}"))
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 2


def test_the_start_up_check_names_a_missing_audit_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from db import audit_keys

    assert audit_keys.audit_key_problem() is None
    monkeypatch.setenv("AUDIT_HMAC_KEY", "")
    monkeypatch.setattr(audit_keys, "SECRETS_PATH", tmp_path / "absent.toml")
    audit_keys._load.cache_clear()
    assert "AUDIT_HMAC_KEY" in (audit_keys.audit_key_problem() or "")
    audit_keys._load.cache_clear()
