"""Shared fixtures: a freshly migrated database on SQLite and on PostgreSQL for every test that asks.

PostgreSQL tests run against ``TEST_POSTGRES_URL`` (default: the local server's ``postgres`` database,
where each test run creates and drops its own scratch database). Without a reachable server they are
skipped with a clear reason, unless ``REQUIRE_POSTGRES=1`` (set by CI), where they fail instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from db.engine import get_engine, make_engine
from db.migrate import upgrade
from db.settings import get_settings

# The audit log is sealed with a key kept outside the database (db.audit_keys); every test run has one, and
# app servers started by the browser tests inherit it.
os.environ.setdefault("AUDIT_HMAC_KEY", "test-audit-key-" + uuid.uuid4().hex + uuid.uuid4().hex)
os.environ.setdefault(
    "AUDIT_CHECKPOINT_PATH", os.path.join(tempfile.gettempdir(), f"iop-test-checkpoints-{uuid.uuid4().hex}.log")
)
# The app's background overdue-lab sweep would write into whichever test database is current: tests (and the
# servers the browser tests start) run it only when they call it (tests/db/test_sweep.py).
os.environ["SWEEP_INTERVAL_MINUTES"] = "0"
# Likewise the audit sealer: tests seal when they mean to (db.audit_seal.seal_pending), and verification seals first.
os.environ["AUDIT_SEAL_INTERVAL_SECONDS"] = "0"
# And the overview's snapshot refresh: tests refresh it when they mean to (tests/db/test_program_snapshot.py).
os.environ["OVERVIEW_REFRESH_SECONDS"] = "0"
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(autouse=True)
def mfa_enrolment_not_required_unless_a_test_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Most tests log in as prescribers and administrators without an authenticator (as in the demo,
    MFA_REQUIRED=off); the MFA tests turn it on with ``monkeypatch.setenv("MFA_REQUIRED", "on")``."""
    if "MFA_REQUIRED" not in os.environ:
        monkeypatch.setenv("MFA_REQUIRED", "off")
        get_settings.cache_clear()


def _postgres_unavailable_reason() -> str | None:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as error:  # any connection failure means the same thing here
        return f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {type(error).__name__}"


@pytest.fixture(scope="session")
def postgres_template_url() -> Iterator[str]:
    """A scratch PostgreSQL database for this test run, migrated to head once."""
    reason = _postgres_unavailable_reason()
    if reason:
        if REQUIRE_POSTGRES:
            pytest.fail(f"{reason} (REQUIRE_POSTGRES=1: PostgreSQL is required)")
        pytest.skip(f"{reason}; PostgreSQL tests skipped (set REQUIRE_POSTGRES=1 to make this a failure)")
    name = f"iop_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with admin.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def _truncate_all(engine: Engine) -> None:
    from db.models import Base

    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        # The history tables refuse TRUNCATE (migration 0008); replica mode skips triggers for this reset only.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Point the process-wide settings and engine at ``url`` (the app and commands then use it)."""
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A migrated, empty database on the parametrized backend; also made the process default."""
    if backend == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template_path"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_template_url")
        _truncate_all(get_engine_for(url))
    use_database(monkeypatch, url)
    yield url
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


_ENGINES: dict[str, Engine] = {}


def get_engine_for(url: str) -> Engine:
    if url not in _ENGINES:
        _ENGINES[url] = make_engine(url)
    return _ENGINES[url]


@pytest.fixture
def engine(database_url: str) -> Engine:
    return get_engine()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests parametrized on PostgreSQL carry the marker, so `-m "not postgres"` gives a quick SQLite-only run.
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend") == "postgresql":
            item.add_marker(pytest.mark.postgres)
