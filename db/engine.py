"""Engine and session factory for SQLite (embedded default) and PostgreSQL (shared deployment)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from db.settings import get_settings

if TYPE_CHECKING:
    from db.permissions import Actor

SQLITE_BUSY_TIMEOUT_MS = 30_000  # see make_engine: a writer waits rather than fails a save under load
# Names the PostgreSQL advisory lock that orders the audit sealer's runs (db.audit_seal); writers never take it.
AUDIT_CHAIN_LOCK_ID = 7_140_221
# PostgreSQL advisory lock spaces (the first key of the two-key form): writes about one thing queue on its lock,
# so that what a write checks before it acts (a version, a count, an open flag, a duplicate order) is still true
# when it commits. Writes about different things do not wait on each other. SQLite has one writer at a time.
WRITE_LOCK_SPACES = {"patient": 7_140_301, "login_name": 7_140_302, "login_address": 7_140_303, "challenge": 7_140_304}


def utcnow() -> datetime:
    """Current time in UTC as a naive datetime: every timestamp is stored this way on both databases."""
    return datetime.now(UTC).replace(tzinfo=None)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy issue BEGIN itself so that BEGIN IMMEDIATE can take the write lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue on busy_timeout instead of
        # failing later with "database is locked" when a read transaction tries to upgrade.
        write = connection.get_execution_options().get("sqlite_write_lock", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: str, **kwargs: object) -> Engine:
    """Build an engine for ``url`` with the project's connection settings."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # The same pool as PostgreSQL's: with SQLAlchemy's default (5 + 10) a busy server's 16th concurrent
        # request waited for a connection instead of the write lock, and timed out after 30 s under load.
        engine = create_engine(
            url,
            # SQLite's busy handler polls rather than queues, so under load a writer can lose the race for the
            # lock several times in a row: wait up to 30 s rather than fail a clinician's save after 10.
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=10,
            max_overflow=20,
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


@cache
def get_engine() -> Engine:
    """The process-wide engine for the configured ``DATABASE_URL``."""
    return make_engine(get_settings().database_url)


@cache
def _session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def _audit_if_denied(engine: Engine, error: BaseException) -> None:
    from db.permissions import (  # late import: permissions builds on this module
        PermissionDenied,
        record_denial,
    )

    if isinstance(error, PermissionDenied):
        record_denial(engine, error)


def serialize_writes_on(session: Session, space: str, key: int | str) -> None:
    """Make this write transaction wait for any other one that serialized on the same ``space`` and ``key``
    (e.g. ``"patient", 42``) until it ends. Take it before reading what the write checks. PostgreSQL only: on
    SQLite every write transaction already holds the one write lock."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        _ADVISORY_LOCK_BY_NUMBER if isinstance(key, int) else _ADVISORY_LOCK_BY_NAME,
        {"space": WRITE_LOCK_SPACES[space], "key": key},
    )


# Built once: text() parses its statement each time it is built.
_ADVISORY_LOCK_BY_NUMBER = text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), CAST(:key AS integer))")
_ADVISORY_LOCK_BY_NAME = text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), hashtext(:key))")


@contextmanager
def read_session(engine: Engine | None = None) -> Iterator[Session]:
    """A session for reads; rolled back at the end so nothing is written by accident.

    Reads that must leave an audit trail (opening a chart) use ``write_session`` instead.
    """
    engine = engine or get_engine()
    session = _session_factory(engine)()
    try:
        yield session
    except BaseException as error:
        session.close()
        _audit_if_denied(engine, error)
        raise
    finally:
        # close() rolls the connection back but keeps loaded objects usable (detached), unlike rollback().
        session.close()


@contextmanager
def write_session(
    engine: Engine | None = None,
    *,
    actor: Actor | None = None,
    capability: str | None = None,
    refused_as: str | None = None,
    audit_denials: bool = True,
) -> Iterator[Session]:
    """One transaction: commits if the block succeeds, rolls back everything if it raises.

    Given the ``actor`` a command writes for, it first checks, in this transaction, that the actor's account
    is active and their login session live (``db.permissions.require_live_actor``), and that their role has
    ``capability`` if one is named (``refused_as`` names the action an ended session's refusal is audited as,
    where it is not a capability, e.g. "export"). A PermissionDenied raised inside is audited in a fresh
    transaction after the rollback.
    """
    engine = engine or get_engine()
    session = _session_factory(engine)()
    try:
        # Procure the connection now with the write flag, so SQLite begins with BEGIN IMMEDIATE.
        session.connection(execution_options={"sqlite_write_lock": True})
        session.info["write_transaction"] = True  # require_patient checks the actor's session in writes
        if actor is not None:
            from db.permissions import require, require_live_actor  # late import: permissions builds on this

            require_live_actor(session, actor, refused_as or capability)
            if capability is not None:
                require(actor, capability)
        yield session
        session.commit()
    except BaseException as error:
        session.rollback()
        session.close()
        if audit_denials:
            _audit_if_denied(engine, error)
        raise
    finally:
        session.close()
