"""Seeding PostgreSQL: a fresh database migrated by Alembic, then a small program loaded with COPY."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import bcrypt
import pytest
from sqlalchemy import create_engine, func, insert, select, text

from db.engine import make_engine
from db.migrate import upgrade
from db.models import Assessment, Flag, Patient, Team, User
from seed import DEMO_PASSWORD, generate
from tests.seed.conftest import SEED_TODAY, SeededProgram
from tests.seed.test_determinism import table_digests

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A brand-new PostgreSQL database migrated to head; dropped afterwards."""
    try:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any connection failure means the same thing here
        reason = f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {type(error).__name__}"
        if REQUIRE_POSTGRES:
            pytest.fail(f"{reason} (REQUIRE_POSTGRES=1: PostgreSQL is required)")
        pytest.skip(f"{reason}; set REQUIRE_POSTGRES=1 to make this a failure")
    name = f"seed_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
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


@pytest.mark.postgres
def test_seed_loads_into_postgres_like_into_sqlite(
    fresh_postgres_url: str, seed_program: Callable[..., SeededProgram]
) -> None:
    engine = make_engine(fresh_postgres_url)
    try:
        summary = generate(engine, seed=42, patients=40, today=SEED_TODAY)

        with engine.begin() as connection:
            assert connection.execute(select(func.count()).select_from(Patient)).scalar() == 40
            assert (
                connection.execute(select(func.count()).select_from(Assessment)).scalar()
                == summary.row_counts["assessments"]
            )
            answers = connection.execute(select(Assessment.answers).limit(1)).scalar()
            assert isinstance(answers, list) and len(answers) in (7, 9)
            assert connection.execute(select(func.count()).select_from(Flag).where(Flag.is_open.is_(None))).scalar()
            # Sequences were moved past the explicit ids: a plain insert gets a fresh id.
            new_team_id = connection.execute(insert(Team).values(name="Team Added Later").returning(Team.id)).scalar()
            assert new_team_id > summary.row_counts["teams"]
            password_hash = connection.execute(select(User.password_hash).where(User.username == "nurse")).scalar()
            assert bcrypt.checkpw(DEMO_PASSWORD.encode(), password_hash.encode())
            connection.execute(text("DELETE FROM teams WHERE name = 'Team Added Later'"))

        # The same program as on SQLite, row for row.
        sqlite_twin = seed_program(seed=42, patients=40, today=SEED_TODAY)
        assert table_digests(engine) == table_digests(sqlite_twin.engine)
    finally:
        engine.dispose()
