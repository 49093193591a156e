"""Page benchmarks at program scale on SQLite and PostgreSQL: ``python -m bench [--patients 10000]``.

For each main page it seeds a program (default 10,000 patients with two years of weekly scores), then
runs the page script with Streamlit's AppTest as the page's user (after a warm-up) and records:
the median and 95th percentile server-side time, the number of SQL statements, the time of the page's own
SQL replayed directly on a raw connection (the floor), and the ratio of page time to that floor.
It then times two waits in a real browser (bench/browser.py) and measures write throughput with 20
clinicians logging visits at once (bench/throughput.py). Results go to bench/results.json and bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, func, select, text

from bench.browser import BrowserResult, measure_browser
from bench.throughput import ThroughputResult, measure_write_throughput, percentile
from db.engine import make_engine, utcnow, write_session
from db.migrate import upgrade
from db.models import Assessment, AuthSession, Patient, User
from db.settings import PROJECT_ROOT, get_settings

OUT = PROJECT_ROOT / "bench"
PAGES = {
    "caseload": ("pages/prescriber/caseload.py", "prescriber"),
    "chart": ("pages/clinical/patient_chart.py", "prescriber"),
    "triage": ("pages/nurse/triage.py", "nurse"),
    "refills": ("pages/prescriber/refills.py", "prescriber"),
    "overview": ("pages/supervisor/overview.py", "supervisor"),
}
TARGET_MS = {"caseload": 300, "chart": 300, "triage": 300, "refills": 300, "overview": 1000}


@dataclass
class PageResult:
    backend: str
    page: str
    median_ms: float
    p95_ms: float
    statements: int
    sql_floor_ms: float
    ratio: float
    target_ms: int


def _session_for(engine: Engine, user_id: int) -> str:
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    with write_session(engine) as session:
        session.add(
            AuthSession(
                id=session_id, user_id=user_id, created_at=now, last_seen_at=now, expires_at=now + timedelta(hours=12)
            )
        )
    return session_id


def busiest_prescriber_username(engine: Engine) -> str:
    with engine.connect() as connection:
        return str(
            connection.execute(
                select(User.username)
                .join(Patient, Patient.prescriber_id == User.id)
                .where(Patient.program_phase != "discharged")
                .group_by(User.username)
                .order_by(func.count().desc())
                .limit(1)
            ).scalar_one()
        )


def _users(engine: Engine) -> dict[str, tuple[int, str | None]]:
    """The busiest prescriber (their caseload and chart), their team's nurse, and a supervisor."""
    with engine.connect() as connection:
        prescriber = connection.execute(
            select(Patient.prescriber_id)
            .where(Patient.program_phase != "discharged")
            .group_by(Patient.prescriber_id)
            .order_by(func.count().desc())
            .limit(1)
        ).scalar_one()
        team = connection.execute(select(User.team_id).where(User.id == prescriber)).scalar_one()
        nurse = connection.execute(
            select(User.id).where(User.role == "nurse", User.team_id == team).limit(1)
        ).scalar_one()
        supervisor = connection.execute(select(User.id).where(User.role == "supervisor").limit(1)).scalar_one()
        mrn = connection.execute(
            select(Patient.mrn)
            .join(Assessment, Assessment.patient_id == Patient.id)
            .where(Patient.prescriber_id == prescriber)
            .group_by(Patient.mrn)
            .order_by(func.count().desc())
            .limit(1)
        ).scalar_one()
    return {"prescriber": (prescriber, mrn), "nurse": (nurse, None), "supervisor": (supervisor, None)}


def _replay_floor(engine: Engine, captured: list[tuple[str, object]], runs: int) -> float:
    """Median time to run exactly the page's statements on a raw DBAPI connection."""
    times = []
    raw = engine.raw_connection()
    try:
        for _ in range(runs):
            cursor = raw.cursor()
            started = time.perf_counter()
            for statement, parameters in captured:
                if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
                    continue  # the floor measures reads; writes (audit) would change the data
                cursor.execute(statement, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
            times.append(time.perf_counter() - started)
            cursor.close()
            raw.rollback()
    finally:
        raw.close()
    return statistics.median(times) * 1000


def bench_backend(backend: str, url: str, *, runs: int) -> list[PageResult]:
    from streamlit import config as st_config
    from streamlit.testing.v1 import AppTest

    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    from db.engine import get_engine

    get_engine.cache_clear()
    engine = get_engine()
    st_config.set_option("server.cookieSecret", secrets.token_urlsafe(48))
    users = _users(engine)
    results = []
    for page, (path, role) in PAGES.items():
        user_id, mrn = users[role]
        session_id = _session_for(engine, user_id)
        captured: list[tuple[str, object]] = []
        recording = {"on": False}

        def _record(
            conn,
            cursor,
            statement,
            parameters,
            context,
            executemany,  # type: ignore[no-untyped-def]
            captured=captured,
            recording=recording,
        ) -> None:
            if recording["on"] and not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
                captured.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", _record)
        times = []
        # One AppTest per page, run repeatedly: each run is a rerun of the page in one user's session, as a
        # user's click causes. (A new AppTest per run would also time AppTest's own start-up, ~0.4 s.)
        app = AppTest.from_file(str(PROJECT_ROOT / path), default_timeout=120)
        app.secrets["auth"] = {"cookie_key": "bench-" + "k" * 40}
        app.session_state["auth_session_id"] = session_id
        if mrn:
            app.query_params["patient"] = mrn
        for run in range(runs + 2):
            captured.clear()
            recording["on"] = True
            started = time.perf_counter()
            app.run()
            elapsed = time.perf_counter() - started
            recording["on"] = False
            if app.exception:
                raise RuntimeError(f"{page}: {app.exception}")
            if run >= 2:  # two warm-up runs
                times.append(elapsed * 1000)
        event.remove(engine, "before_cursor_execute", _record)
        statements = len(captured)
        floor = _replay_floor(engine, list(captured), runs)
        median = statistics.median(times)
        results.append(
            PageResult(
                backend,
                page,
                round(median, 1),
                round(percentile(times, 0.95), 1),
                statements,
                round(floor, 1),
                round(median / floor, 2) if floor else 0.0,
                TARGET_MS[page],
            )
        )
        print(
            f"{backend:<11}{page:<10} median {median:7.1f} ms  p95 {percentile(times, 0.95):7.1f} ms  "
            f"{statements:3d} statements  SQL floor {floor:6.1f} ms",
            flush=True,
        )
    engine.dispose()
    return results


def write_reports(
    results: list[PageResult], browser: list[BrowserResult], writes: list[ThroughputResult], meta: dict
) -> None:
    report = {
        "meta": meta,
        "results": [asdict(r) for r in results],
        "browser": [asdict(b) for b in browser],
        "writes": [asdict(w) for w in writes],
    }
    (OUT / "results.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = [
        f"# Page benchmarks ({meta['patients']:,} patients, {meta['weeks']} weeks of history)",
        "",
        f"Measured {meta['date']} on {meta['machine']}; {meta['runs']} runs per page after 2 warm-ups "
        "(AppTest, server-side).",
        "",
        "| database | page | median ms | p95 ms | target ms | SQL statements | SQL floor ms | page / floor |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.backend} | {r.page} | {r.median_ms} | {r.p95_ms} | {r.target_ms} | {r.statements} | "
            f"{r.sql_floor_ms} | {r.ratio} |"
        )
    if browser:
        lines += [
            "",
            f"## In the browser (Chromium, headless; {browser[0].runs} fresh browser contexts after a warm-up)",
            "",
            "| database | step | median ms | max ms | target ms |",
            "|---|---|---|---|---|",
        ]
        lines += [f"| {b.backend} | {b.step} | {b.median_ms:g} | {b.max_ms:g} | {b.target_ms} |" for b in browser]
    if writes:
        lines += [
            "",
            "## Write throughput (clinicians logging visits at once, one app process)",
            "",
            "| database | clinicians | seconds | saves | saves/s | median save ms | p95 save ms | conflicts | errors "
            "| CPU ms per save | waiting on locks |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {w.backend} | {w.clinicians} | {w.seconds} | {w.saves} | {w.saves_per_second} | {w.median_ms} | "
            f"{w.p95_ms} | {w.conflicts} | {w.errors} | {w.cpu_ms_per_save} | "
            f"{'–' if w.waiting_on_locks is None else w.waiting_on_locks} |"
            for w in writes
        ]
    (OUT / "RESULTS.md").write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--weeks-history", type=int, default=104)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--browser-runs", type=int, default=5, help="0 skips the browser timings")
    parser.add_argument("--clinicians", type=int, default=20)
    parser.add_argument("--write-seconds", type=float, default=30.0, help="0 skips the write benchmark")
    parser.add_argument(
        "--writes-only",
        action="store_true",
        help="only the write benchmark; prints its rows and leaves results.json and RESULTS.md alone",
    )
    parser.add_argument("--postgres-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    from seed import generate

    results: list[PageResult] = []
    browser: list[BrowserResult] = []
    writes: list[ThroughputResult] = []
    for backend in args.backends.split(","):
        if backend == "sqlite":
            url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
            admin = None
            name = None
        else:
            name = f"iop_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.postgres_admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            url = args.postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"
        upgrade(url)
        engine = make_engine(url)
        started = time.perf_counter()
        generate(engine, patients=args.patients, weeks_history=args.weeks_history)
        if backend == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        else:
            with engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
        engine.dispose()
        print(f"{backend}: seeded {args.patients} patients in {time.perf_counter() - started:.1f} s", flush=True)
        if not args.writes_only:
            results += bench_backend(backend, url, runs=args.runs)
        engine = make_engine(url)
        if args.browser_runs and not args.writes_only:
            browser += measure_browser(backend, url, busiest_prescriber_username(engine), runs=args.browser_runs)
            for b in browser[-2:]:
                print(f"{backend:<11}browser {b.step:<22} median {b.median_ms:g} ms  max {b.max_ms:g} ms", flush=True)
        if args.write_seconds:
            # The commands use the process-wide engine (as in the app), so point it at this database.
            os.environ["DATABASE_URL"] = url
            get_settings.cache_clear()
            from db.engine import get_engine

            get_engine.cache_clear()
            writes.append(
                measure_write_throughput(backend, engine, clinicians=args.clinicians, seconds=args.write_seconds)
            )
            w = writes[-1]
            print(
                f"{backend:<11}writes  {w.saves} saves in {w.seconds} s ({w.saves_per_second}/s), "
                f"p95 {w.p95_ms} ms, {w.conflicts} conflicts, {w.errors} errors",
                flush=True,
            )
        engine.dispose()
        if admin is not None and name is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    if args.writes_only:
        print("load average (1, 5, 15 min): " + ", ".join(f"{load:.1f}" for load in os.getloadavg()))
        for w in writes:
            print(
                f"| {w.backend} | {w.clinicians} | {w.seconds} | {w.saves} | {w.saves_per_second} | {w.median_ms} | "
                f"{w.p95_ms} | {w.conflicts} | {w.errors} | {w.cpu_ms_per_save} | "
                f"{'–' if w.waiting_on_locks is None else w.waiting_on_locks} |"
            )
        return 0
    meta = {
        "patients": args.patients,
        "weeks": args.weeks_history,
        "runs": args.runs,
        "date": utcnow().date().isoformat(),
        "machine": f"{os.cpu_count()} cores",
    }
    write_reports(results, browser, writes, meta)
    print(f"wrote {OUT / 'results.json'} and {OUT / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
