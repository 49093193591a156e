"""``python -m seed``: migrating, seeding, printing the summary, and --if-empty idempotence."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from db.auth import hash_password
from db.engine import make_engine
from db.models import Patient, User
from seed.__main__ import main
from tests.seed.conftest import SEED_TODAY


def _counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            users = connection.execute(select(func.count()).select_from(User)).scalar_one()
            patients = connection.execute(select(func.count()).select_from(Patient)).scalar_one()
        return users, patients
    finally:
        engine.dispose()


def test_migrate_then_seed_prints_counts_and_demo_logins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"

    code = main(["--database-url", url, "--migrate", "--patients", "12", "--today", SEED_TODAY.isoformat()])

    output = capsys.readouterr().out
    assert code == 0
    assert "Seeded 12 synthetic patients" in output
    assert "assessments" in output and "flag_events" in output
    for username in ("prescriber", "nurse", "supervisor", "admin"):
        assert f"  {username} " in output
    assert "demo-iop-2026" in output
    assert _counts(url)[1] == 12


def test_if_empty_loads_once_and_then_leaves_the_database_alone(
    fresh_sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = [
        "--database-url",
        fresh_sqlite_url,
        "--if-empty",
        "--patients",
        "15",
        "--today",
        SEED_TODAY.isoformat(),
    ]

    assert main(arguments) == 0
    after_first = _counts(fresh_sqlite_url)
    capsys.readouterr()
    assert main(arguments) == 0

    again = capsys.readouterr().out
    assert "demo data not loaded (--if-empty)" in again
    assert _counts(fresh_sqlite_url) == after_first
    assert after_first[1] == 15
    # `make run` runs this on every start: the demo logins are printed every time, not only the first.
    assert "Demo logins (synthetic accounts):" in again and "demo-iop-2026" in again
    for username in ("prescriber", "nurse", "supervisor", "admin"):
        assert f"  {username} " in again


def test_if_empty_lists_only_demo_accounts_that_still_work(
    fresh_sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = ["--database-url", fresh_sqlite_url, "--if-empty", "--patients", "5", "--today", SEED_TODAY.isoformat()]
    assert main(arguments) == 0
    engine = make_engine(fresh_sqlite_url)
    try:
        with engine.begin() as connection:
            connection.execute(update(User).where(User.username == "nurse").values(is_active=False))
            connection.execute(
                update(User).where(User.username == "admin").values(password_hash=hash_password("changed", rounds=4))
            )
    finally:
        engine.dispose()
    capsys.readouterr()

    assert main(arguments) == 0

    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines() if "demo-iop-2026" in line}
    assert {"prescriber", "supervisor"} <= listed
    assert not {"nurse", "admin"} & listed


def test_seeding_a_database_that_has_users_is_refused(
    fresh_sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = ["--database-url", fresh_sqlite_url, "--patients", "5", "--today", SEED_TODAY.isoformat()]
    assert main(arguments) == 0
    before = _counts(fresh_sqlite_url)

    assert main(arguments) == 1

    assert "already holds" in capsys.readouterr().err
    assert _counts(fresh_sqlite_url) == before
