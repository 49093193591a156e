"""Command line: ``python -m seed [--seed 42] [--patients 120] [--weeks-history N] [--database-url URL]
[--if-empty] [--migrate] [--today YYYY-MM-DD]``.

``--if-empty`` makes the command safe to run on every start of the app: it loads demo data only into a
database without users. ``--migrate`` first brings the schema to the newest Alembic revision.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import date

from db.engine import make_engine
from db.settings import get_settings
from seed.generator import (
    DEFAULT_PATIENTS,
    DEFAULT_SEED,
    DEFAULT_WEEKS_HISTORY,
    DemoLogin,
    SeedError,
    SeedSummary,
    demo_logins,
    existing_demo_logins,
    existing_user_count,
    generate,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m seed", description="Load synthetic demo data (no real patients).")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (same seed, same data)")
    parser.add_argument("--patients", type=int, default=DEFAULT_PATIENTS, help="number of patients")
    parser.add_argument("--weeks-history", type=int, default=None,
                        help=f"weeks of history before today (default {DEFAULT_WEEKS_HISTORY})")
    parser.add_argument("--database-url", default=None, help="database URL (default: DATABASE_URL or data/iop.db)")
    parser.add_argument("--if-empty", action="store_true", help="do nothing if the database already has users")
    parser.add_argument("--migrate", action="store_true", help="run Alembic migrations to head first")
    parser.add_argument("--today", type=date.fromisoformat, default=None,
                        help="pretend today is this date (YYYY-MM-DD), for reproducible data")
    return parser


def format_summary(summary: SeedSummary, total_seconds: float) -> str:
    patients = f"{summary.patients:,} synthetic patient{'' if summary.patients == 1 else 's'}"
    weeks = f"{summary.weeks_history} week{'' if summary.weeks_history == 1 else 's'}"
    lines = [
        f"Seeded {patients} (seed {summary.seed}, {weeks} of history up to {summary.today.isoformat()}) "
        f"in {summary.seconds:.1f} s ({total_seconds:.1f} s including start-up).",
        "",
        f"{'table':<22}{'rows':>12}",
    ]
    lines += [f"{table:<22}{count:>12,}" for table, count in summary.row_counts.items()]
    lines += [f"{'total':<22}{summary.total_rows:>12,}", "", format_logins(demo_logins(summary))]
    return "\n".join(lines)


def format_logins(logins: Sequence[DemoLogin]) -> str:
    if not logins:
        return "No demo account still takes the demo password; log in with an account an administrator created."
    lines = ["Demo logins (synthetic accounts):", f"  {'username':<14}{'password':<16}{'role':<12}{'team':<16}name"]
    lines += [f"  {login.username:<14}{login.password:<16}{login.role:<12}{login.team or '-':<16}{login.full_name}"
              for login in logins]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    args = _parser().parse_args(argv)
    url = args.database_url or get_settings().database_url
    if args.migrate:
        from db.migrate import upgrade  # late import: Alembic is only needed here

        upgrade(url)
    engine = make_engine(url)
    try:
        if args.if_empty:
            users = existing_user_count(engine)
            if users:
                print(f"Database already has {users} users; demo data not loaded (--if-empty).\n")
                print(format_logins(existing_demo_logins(engine)))
                return 0
        try:
            summary = generate(engine, seed=args.seed, patients=args.patients, weeks_history=args.weeks_history,
                               today=args.today)
        except SeedError as error:
            print(f"seed: {error}", file=sys.stderr)
            return 1
        print(format_summary(summary, time.perf_counter() - started))
        return 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
