"""Fixtures for the seed tests: freshly migrated databases and programs seeded once per session."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from db.engine import make_engine
from db.migrate import upgrade
from seed import SeedSummary, generate

# A fixed "today" makes every seeded program reproducible, whatever day the tests run.
SEED_TODAY = date(2026, 3, 2)
SMALL_PROGRAM = 40
LARGER_PROGRAM = 1_000


@dataclass
class SeededProgram:
    url: str
    engine: Engine
    summary: SeedSummary


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head by Alembic once; tests copy it rather than migrating again."""
    path = tmp_path_factory.mktemp("seed-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def fresh_sqlite_url(migrated_sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated, empty SQLite database of this test's own."""
    path = tmp_path / "seed.db"
    shutil.copy(migrated_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def seed_program(
    migrated_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., SeededProgram]]:
    """Factory: a migrated SQLite copy seeded with ``generate(**options)``; engines are disposed at the end."""
    engines: list[Engine] = []

    def seeded(**options: object) -> SeededProgram:
        path = tmp_path_factory.mktemp("seeded") / "program.db"
        shutil.copy(migrated_sqlite_template, path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        engines.append(engine)
        options.setdefault("today", SEED_TODAY)
        summary = generate(engine, **options)  # type: ignore[arg-type]
        return SeededProgram(url, engine, summary)

    yield seeded
    for engine in engines:
        engine.dispose()


@pytest.fixture(scope="session")
def small_program(seed_program: Callable[..., SeededProgram]) -> SeededProgram:
    return seed_program(seed=42, patients=SMALL_PROGRAM)


@pytest.fixture(scope="session")
def larger_program(seed_program: Callable[..., SeededProgram]) -> SeededProgram:
    return seed_program(seed=7, patients=LARGER_PROGRAM)


@pytest.fixture(scope="session", params=["small", "larger"])
def program(request: pytest.FixtureRequest) -> SeededProgram:
    """Each sanity check runs on a 40-patient program (storylines must still appear) and a 1,000-patient one."""
    return request.getfixturevalue(f"{request.param}_program")
