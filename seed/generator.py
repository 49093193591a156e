"""Generate a synthetic IOP program (staff, patients, medication histories, scores, labs, refills, flags).

``generate(engine, seed=42, patients=120)`` fills an empty, migrated database in one transaction. The same
``seed`` and ``today`` always give the same rows (only the bcrypt password hash differs, because bcrypt
salts itself), so tests and benchmarks can rely on the data. All data is invented.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import bcrypt
from sqlalchemy import Engine, func, select

from db.engine import utcnow, write_session
from db.models import Patient, Team, User
from db.settings import get_settings
from db.summary import rebuild_summaries
from seed.bulk import TABLE_NAMES, IdAllocator, RowBuffer, reset_postgres_sequences
from seed.charts import ChartBuilder, plan_patients
from seed.rules import CachedRules, Formulary, LabCatalog, ScoreBook
from seed.staff import build_staff, staff_rows

DEMO_PASSWORD = "demo-iop-2026"
DEFAULT_SEED = 42
DEFAULT_PATIENTS = 120
DEFAULT_WEEKS_HISTORY = 26
# Rows are written every few hundred patients, so memory stays flat even for two years of 10,000 charts.
PATIENTS_PER_FLUSH = 500
# Accounts worth printing for a demo; every generated user has the same password.
DEMO_USERNAMES = ("prescriber", "prescriber2", "nurse", "nurse2", "supervisor", "admin")
SQLITE_DEFAULT_CACHE_SIZE = -2000  # SQLite's default (2 MB), restored on the pooled connection afterwards


class SeedError(RuntimeError):
    """The database cannot be seeded as asked (for example, it already holds a program)."""


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    full_name: str
    team: str | None
    password: str = DEMO_PASSWORD


@dataclass(frozen=True)
class SeedSummary:
    seed: int
    patients: int
    weeks_history: int
    today: date
    row_counts: dict[str, int]
    seconds: float
    logins: tuple[DemoLogin, ...]

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values())


def demo_logins(summary: SeedSummary) -> list[DemoLogin]:
    """The demo accounts to show on the login screen or print after seeding."""
    return list(summary.logins)


def existing_demo_logins(engine: Engine) -> list[DemoLogin]:
    """The demo accounts of an already seeded database that are active and still take the demo password.

    Printed on every start of ``make run``, not only the first: an account an administrator deactivated or
    whose password was changed is left out, so the list never offers a login that does not work.
    """
    from db.auth import password_matches  # late import: db.auth hashes a dummy password when imported

    statement = (
        select(User.username, User.role, User.full_name, Team.name, User.password_hash)
        .outerjoin(Team, Team.id == User.team_id)
        .where(User.username.in_(DEMO_USERNAMES), User.is_active.is_(True))
    )
    with engine.connect() as connection:
        rows = {row.username: row for row in connection.execute(statement)}
    # The seed gives every account one shared hash, so this is usually a single bcrypt check.
    demo_hashes: dict[str, bool] = {}
    logins = []
    for name in DEMO_USERNAMES:
        row = rows.get(name)
        if row is None:
            continue
        if row.password_hash not in demo_hashes:
            demo_hashes[row.password_hash] = password_matches(DEMO_PASSWORD, row.password_hash)
        if demo_hashes[row.password_hash]:
            logins.append(DemoLogin(row.username, row.role, row.full_name, row.name))
    return logins


def existing_user_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(User)).scalar() or 0)


def generate(engine: Engine, *, seed: int = DEFAULT_SEED, patients: int = DEFAULT_PATIENTS,
             weeks_history: int | None = None, today: date | None = None) -> SeedSummary:
    """Fill an empty, migrated database with a synthetic program; returns counts and timing."""
    if patients < 1:
        raise SeedError("patients must be at least 1")
    started = time.perf_counter()
    weeks = DEFAULT_WEEKS_HISTORY if weeks_history is None else weeks_history
    if weeks < 1:
        raise SeedError("weeks_history must be at least 1")
    # date.today() is local time: never ahead of the UTC date, or "last night" would lie in the future.
    today = today or min(date.today(), utcnow().date())
    rng = random.Random(seed)
    # Hash once and share it: bcrypt at cost 12 takes ~0.25 s, far too slow per user.
    password_hash = bcrypt.hashpw(DEMO_PASSWORD.encode(), bcrypt.gensalt(12)).decode()
    formulary, labs, scores, rules = Formulary(), LabCatalog(), ScoreBook(seed), CachedRules()

    with write_session(engine, audit_denials=False) as session:
        connection = session.connection()
        for model, label in ((User, "users"), (Patient, "patients")):
            count = connection.execute(select(func.count()).select_from(model)).scalar()
            if count:
                raise SeedError(f"database already holds {count} {label}; seed only an empty database")
        if connection.dialect.name == "sqlite":
            # A bigger page cache keeps index pages in memory during the bulk load (per connection only).
            connection.exec_driver_sql("PRAGMA cache_size=-262144")
        ids = IdAllocator(connection)
        buffer = RowBuffer()
        staff = build_staff(rng, patients, ids.take)
        staff_created = datetime.combine(today - timedelta(days=7 * weeks + 60), datetime.min.time())
        team_rows, user_rows = staff_rows(staff, password_hash, staff_created)
        buffer.rows["teams"].extend(team_rows)
        buffer.rows["users"].extend(user_rows)
        buffer.flush(connection)

        builder = ChartBuilder(
            rng=rng, today=today, window_days=7 * weeks, ids=ids, rows=buffer.rows, staff=staff,
            formulary=formulary, labs=labs, scores=scores, rules=rules,
            lab_grace_days=get_settings().overdue_lab_grace_days,
        )
        for charted, plan in enumerate(plan_patients(rng, patients, staff, weeks), start=1):
            builder.add_patient(plan)
            if charted % PATIENTS_PER_FLUSH == 0:
                buffer.flush(connection)
        buffer.flush(connection)
        reset_postgres_sequences(connection, TABLE_NAMES)
        # The rows went in in bulk, past the write commands: summarise every patient from that history.
        rebuild_summaries(connection)
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(f"PRAGMA cache_size={SQLITE_DEFAULT_CACHE_SIZE}")

    by_username = {member.username: member for member in staff.everyone}
    logins = tuple(
        DemoLogin(name, by_username[name].role, by_username[name].full_name, staff.team_name(by_username[name].team_id))
        for name in DEMO_USERNAMES
        if name in by_username
    )
    return SeedSummary(seed, patients, weeks, today, dict(buffer.written), time.perf_counter() - started, logins)
