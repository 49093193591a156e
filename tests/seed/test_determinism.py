"""Same seed and same ``today`` give the same rows; another seed gives a different program."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sqlalchemy import Engine, select

from seed.bulk import LOAD_ORDER
from tests.seed.conftest import SEED_TODAY, SeededProgram

# bcrypt salts every hash, so the shared password hash is the one value that differs between runs.
UNSTABLE_COLUMNS = {("users", "password_hash")}


def table_digests(engine: Engine) -> dict[str, str]:
    """SHA-256 of every seeded table's rows, in id order."""
    digests = {}
    with engine.connect() as connection:
        for table in LOAD_ORDER:
            columns = [column for column in table.columns if (table.name, column.name) not in UNSTABLE_COLUMNS]
            digest = hashlib.sha256()
            for row in connection.execute(select(*columns).order_by(table.c.id)):
                digest.update(repr(tuple(row)).encode())
            digests[table.name] = digest.hexdigest()
    return digests


def test_same_seed_and_day_give_identical_rows(seed_program: Callable[..., SeededProgram]) -> None:
    first = seed_program(seed=11, patients=40, today=SEED_TODAY)
    second = seed_program(seed=11, patients=40, today=SEED_TODAY)

    assert first.summary.row_counts == second.summary.row_counts
    assert table_digests(first.engine) == table_digests(second.engine)


def test_another_seed_gives_another_program(
    seed_program: Callable[..., SeededProgram], small_program: SeededProgram
) -> None:
    other = seed_program(seed=43, patients=40, today=SEED_TODAY)

    differing = {
        name
        for name, digest in table_digests(other.engine).items()
        if table_digests(small_program.engine)[name] != digest
    }
    assert {"patients", "assessments", "prescriptions"} <= differing
