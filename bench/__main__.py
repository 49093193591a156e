"""Page benchmarks at program scale on SQLite and PostgreSQL: ``python -m bench [--patients 1000,10000,100000]``.

For each program size and database it seeds a program (two years of weekly scores per patient), then runs
``app.py`` with Streamlit's AppTest as each role's user: log in, open each main page (the cold first view),
rerun it (warm views), and records the cold time, the warm median and 95th percentile, the SQL statements
per view, the time of those statements replayed on a raw connection in the same run (the SQL floor), the
process's resident memory after each page and the machine's load. At one size (``--browser-at``) it also
times waits in a real browser (bench/browser.py) and write throughput (bench/throughput.py). Results go to
bench/results.json and bench/RESULTS.md (plus bench/NOTES.md, the hand-written reading of them).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select, text

from bench.browser import BrowserResult, BrowserRunInfo, BrowserUsers, measure_browser
from bench.throughput import ThroughputResult, measure_write_throughput, percentile
from db.engine import make_engine, utcnow
from db.migrate import upgrade
from db.models import Assessment, Patient, User
from db.settings import PROJECT_ROOT, get_settings

OUT = PROJECT_ROOT / "bench"
APP = str(PROJECT_ROOT / "app.py")
# Per role, the pages its user opens after logging in, in this order: (name, page file, which patient).
ROLE_PAGES: dict[str, list[tuple[str, str, str | None]]] = {
    "prescriber": [
        ("caseload", "pages/prescriber/caseload.py", None),
        ("chart", "pages/clinical/patient_chart.py", "long"),
        ("chart (short history)", "pages/clinical/patient_chart.py", "short"),
        ("refills", "pages/prescriber/refills.py", None),
    ],
    "nurse": [("triage", "pages/nurse/triage.py", None)],
    # The overview as it opens (its snapshot, refreshed in the background) and computed live (another filter, or
    # no fresh snapshot): the live one is what the background refresh costs, once per OVERVIEW_REFRESH_SECONDS.
    "supervisor": [
        ("overview", "pages/supervisor/overview.py", None),
        ("overview (live)", "pages/supervisor/overview.py", None),
    ],
}
TARGET_MS = {
    "caseload": 150,
    "chart": 150,
    "chart (short history)": 150,
    "triage": 100,
    "refills": 100,
    "overview": 500,
    "overview (live)": 500,
}
OVERVIEW_TARGET_AT_100K_MS = 600


@dataclass
class PageResult:
    backend: str
    patients: int
    page: str
    cold_ms: float  # the page's first view in the user's session (after login)
    median_ms: float  # warm views: reruns of the page, as a click causes
    p95_ms: float
    cpu_ms: float  # warm median of this process's CPU time: what the page costs the app server, whatever the load
    statements: int
    sql_floor_ms: float  # the same statements replayed on a raw connection (writes rolled back)
    rss_mb: float  # the app server's resident memory after the page (AppTest runs the app in this process)
    target_ms: int


@dataclass
class RunInfo:
    backend: str
    patients: int
    weeks: int
    seed_seconds: float | None  # None: the database was seeded by an earlier run (--keep-dir)
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    login_ms: dict[str, float]  # per role: login to the landing page drawn (bcrypt included)
    snapshot_refresh_ms: float | None = None  # the overview snapshot's refresh (db.program_snapshot), once


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _bench_users(engine: Engine) -> dict[str, tuple[str, dict[str, str]]]:
    """The same users and patients on both databases (the seed writes the same rows; ties broken by id):
    the busiest prescriber, their patients with the longest and the shortest history, a nurse of their
    team, the first supervisor."""
    with engine.connect() as connection:
        prescriber = connection.execute(
            select(Patient.prescriber_id)
            .where(Patient.program_phase != "discharged", Patient.prescriber_id.is_not(None))
            .group_by(Patient.prescriber_id)
            .order_by(func.count().desc(), Patient.prescriber_id)
            .limit(1)
        ).scalar_one()
        team = connection.execute(select(User.team_id).where(User.id == prescriber)).scalar_one()
        nurse = connection.execute(
            select(User.username).where(User.role == "nurse", User.team_id == team).order_by(User.id).limit(1)
        ).scalar_one()
        supervisor = connection.execute(
            select(User.username).where(User.role == "supervisor").order_by(User.id).limit(1)
        ).scalar_one()
        username = connection.execute(select(User.username).where(User.id == prescriber)).scalar_one()
        caseload = (Patient.prescriber_id == prescriber, Patient.program_phase != "discharged")
        long, warm_long = connection.execute(
            select(Patient.mrn)
            .join(Assessment, Assessment.patient_id == Patient.id)
            .where(*caseload)
            .group_by(Patient.mrn)
            .order_by(func.count().desc(), Patient.mrn)
            .limit(2)
        ).scalars()
        short, warm_short = connection.execute(
            select(Patient.mrn).where(*caseload).order_by(Patient.program_start_date.desc(), Patient.mrn).limit(2)
        ).scalars()
    return {
        "prescriber": (
            username,
            {"long": long, "short": short, "warm-up long": warm_long, "warm-up short": warm_short},
        ),
        "nurse": (nurse, {}),
        "supervisor": (supervisor, {}),
    }


def browser_users(engine: Engine) -> BrowserUsers:
    """The server-side benchmark's prescriber, patients and supervisor, for the browser timings."""
    users = _bench_users(engine)
    prescriber, mrns = users["prescriber"]
    return BrowserUsers(prescriber, users["supervisor"][0], short_mrn=mrns["short"], long_mrn=mrns["long"])


def _replay_floor(engine: Engine, captured: list[tuple[str, object]], runs: int) -> float:
    """Median time to run exactly the page's statements, its writes included, on a raw DBAPI connection;
    each replay is rolled back, so the data (and the audit chain) stay as they were."""
    times = []
    raw = engine.raw_connection()
    sqlite = engine.dialect.name == "sqlite"
    try:
        for _ in range(runs):
            cursor = raw.cursor()
            started = time.perf_counter()
            if sqlite:  # the app's SQLite connections are in autocommit mode (db.engine): open the transaction
                cursor.execute("BEGIN")
            for statement, parameters in captured:
                if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
                    # A replayed insert reuses the id the page's own run committed (an audit row's id is assigned
                    # before the insert): the insert is still attempted, its unique-key failure undone alone.
                    cursor.execute("SAVEPOINT replay")
                    try:
                        cursor.execute(statement, parameters)
                    except engine.dialect.loaded_dbapi.IntegrityError:
                        cursor.execute("ROLLBACK TO SAVEPOINT replay")
                    continue
                cursor.execute(statement, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
            times.append(time.perf_counter() - started)
            cursor.close()
            raw.rollback()
    finally:
        raw.close()
    return statistics.median(times) * 1000


def _log_in(app, username: str) -> None:  # type: ignore[no-untyped-def]
    from seed.generator import DEMO_PASSWORD

    app.run()
    app.text_input[0].input(username)
    app.text_input[1].input(DEMO_PASSWORD)
    app.button[0].click()
    app.run()
    if app.exception or not app.title:
        raise RuntimeError(f"login as {username} failed: {app.exception or [e.value for e in app.error]}")


def bench_backend(
    backend: str, url: str, patients: int, *, runs: int
) -> tuple[list[PageResult], dict[str, float], float]:
    """Every page through app.py, as its user: log in, open the page (cold), rerun it ``runs`` times (warm).
    Also returns the ms the overview snapshot's refresh took."""
    from streamlit import config as st_config
    from streamlit.testing.v1 import AppTest

    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    from db.engine import get_engine

    get_engine.cache_clear()
    engine = get_engine()
    st_config.set_option("server.cookieSecret", secrets.token_urlsafe(48))
    users = _bench_users(engine)
    captured: list[tuple[str, object]] = []
    recording = {"on": False}

    def _record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if recording["on"] and not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", _record)
    results: list[PageResult] = []
    login_ms: dict[str, float] = {}
    # What the app server's background refresher keeps fresh (the bench process runs none: it would write while
    # the pages are timed); timed here, as a refresh costs the server once per OVERVIEW_REFRESH_SECONDS.
    from db.program_snapshot import refresh_program_snapshot

    started = time.perf_counter()
    refresh_program_snapshot(engine=engine)
    snapshot_refresh_ms = round((time.perf_counter() - started) * 1000, 1)
    try:
        # A warm-up session per role with other patients, as a server that has run for a while has: every page
        # module imported, Streamlit's and the app's process-wide caches filled. "Cold" below is then a user's
        # first view of the page and patient in a new session, not the process's first import.
        for role, pages in ROLE_PAGES.items():
            username, mrns = users[role]
            app = AppTest.from_file(APP, default_timeout=300)
            app.secrets["auth"] = {"cookie_key": secrets.token_urlsafe(48)}
            _log_in(app, username)
            for _page, path, which in pages:
                if which:
                    app.query_params["patient"] = mrns[f"warm-up {which}"]
                app.switch_page(path)
                app.run()
        for role, pages in ROLE_PAGES.items():
            username, mrns = users[role]
            app = AppTest.from_file(APP, default_timeout=300)
            app.secrets["auth"] = {"cookie_key": secrets.token_urlsafe(48)}
            started = time.perf_counter()
            _log_in(app, username)
            login_ms[role] = round((time.perf_counter() - started) * 1000, 1)
            for page, path, which in pages:
                if which:
                    app.query_params["patient"] = mrns[which]
                # "overview (live)": no snapshot counts as fresh, so the page computes its figures.
                os.environ["OVERVIEW_SNAPSHOT_MAX_AGE_SECONDS"] = "0" if page.endswith("(live)") else "3600"
                get_settings.cache_clear()
                app.switch_page(path)
                times, cpu = [], []
                for _ in range(runs + 1):
                    captured.clear()
                    recording["on"] = True
                    started, started_cpu = time.perf_counter(), time.process_time()
                    app.run()
                    elapsed = (time.perf_counter() - started) * 1000
                    cpu.append((time.process_time() - started_cpu) * 1000)
                    recording["on"] = False
                    if app.exception:
                        raise RuntimeError(f"{page}: {app.exception}")
                    times.append(elapsed)
                statements = list(captured)
                floor = _replay_floor(engine, statements, max(3, runs // 3))
                result = PageResult(
                    backend,
                    patients,
                    page,
                    round(times[0], 1),
                    round(statistics.median(times[1:]), 1),
                    round(percentile(times[1:], 0.95), 1),
                    round(statistics.median(cpu[1:]), 1),
                    len(statements),
                    round(floor, 1),
                    resident_mb(),
                    OVERVIEW_TARGET_AT_100K_MS if page == "overview" and patients >= 100_000 else TARGET_MS[page],
                )
                results.append(result)
                print(
                    f"{backend:<11}{patients:>7} {page:<22} cold {result.cold_ms:7.1f}  median {result.median_ms:7.1f}"
                    f"  p95 {result.p95_ms:7.1f}  CPU {result.cpu_ms:7.1f} ms  {result.statements:3d} statements  "
                    f"floor {floor:6.1f} ms  "
                    f"RSS {result.rss_mb} MB",
                    flush=True,
                )
    finally:
        event.remove(engine, "before_cursor_execute", _record)
        engine.dispose()
    return results, login_ms, snapshot_refresh_ms


def prepare_database(
    backend: str, patients: int, weeks: int, *, keep_dir: Path | None, admin_url: str
) -> tuple[str, float | None, Callable[[], None]]:
    """A migrated, seeded, analysed database of ``patients``; with ``keep_dir`` it is kept and reused by later
    runs (seeding 100,000 patients takes long). Returns its URL, the seconds seeding took (None if reused) and
    a function that drops it (a no-op for a kept one)."""
    name = f"iop_bench_{patients}_{weeks}w"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT") if backend == "postgresql" else None
    if backend == "sqlite":
        folder = keep_dir or Path(tempfile.mkdtemp())
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.db"
        url = f"sqlite:///{path}"
        exists = path.exists()
    else:
        assert admin is not None
        url = admin_url.rsplit("/", 1)[0] + f"/{name}" if keep_dir else admin_url.rsplit("/", 1)[0] + f"/{name}_tmp"
        database = url.rsplit("/", 1)[1]
        with admin.connect() as connection:
            exists = bool(
                connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": database}).scalar()
            )
            if exists and not keep_dir:
                connection.execute(text(f'DROP DATABASE "{database}" WITH (FORCE)'))
                exists = False
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{database}"'))
    seeded: float | None = None
    if exists:
        engine = make_engine(url)
        with engine.connect() as connection:
            exists = connection.execute(select(func.count()).select_from(Patient)).scalar() == patients
        engine.dispose()
    upgrade(url)
    if not exists:
        from seed import generate

        engine = make_engine(url)
        started = time.perf_counter()
        generate(engine, patients=patients, weeks_history=weeks)
        seeded = round(time.perf_counter() - started, 1)
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        engine.dispose()
        print(f"{backend}: seeded {patients} patients ({weeks} weeks) in {seeded} s", flush=True)

    def drop() -> None:
        if keep_dir:
            return
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
            admin.dispose()
        else:
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)

    return url, seeded, drop


BROWSER_HEADING = "## In the browser (Chromium)"


def browser_section(browser: list[BrowserResult], browser_runs: list[BrowserRunInfo]) -> list[str]:
    """The browser timings, one column per database: median (max) ms over fresh browser contexts."""
    if not browser:
        return []
    sizes = sorted({info.patients for info in browser_runs})
    backends = list(dict.fromkeys(b.backend for b in browser))
    by_key = {(b.backend, b.step): b for b in browser}
    steps = list(dict.fromkeys(b.step for b in browser))
    lines = [
        f"{BROWSER_HEADING} at {', '.join(f'{n:,}' for n in sizes)} patients",
        "",
        f"Debian's Chromium, headless, 1440×900, driving the app as `make run` starts it (one app server per "
        f"database). Each step in a fresh browser context (a new Streamlit session), {browser[0].runs} times after "
        "one warm-up run not counted; users chosen as for the tables above (the busiest prescriber, their "
        "patients with the most assessments and with the latest start, the first supervisor). The chart is "
        "opened by a click on the patient's caseload row (found with the search box first, not timed); *summary* "
        "is the visit summary above the fold, *timeline* the timeline drawn below it. The visit is saved on the "
        "long-history chart: 16 items answered by mouse, then from the click on “Save visit” to “Visit saved…” "
        "shown. Target: issue 16 (median).",
        "",
        "Cell: **median ms (max ms)**.",
        "",
        "| step | " + " | ".join(backends) + " | target ms |",
        "|---|" + "---|" * len(backends) + "---|",
    ]
    for step in steps:
        cells = []
        for backend in backends:
            result = by_key.get((backend, step))
            cells.append("–" if result is None else f"{result.median_ms:g} ({result.max_ms:g})")
        target = next((b.target_ms for b in browser if b.step == step and b.target_ms), None)
        lines.append(f"| {step} | " + " | ".join(cells) + f" | {target if target else '–'} |")
    lines += [
        "",
        "| database | patients | load before (1/5/15 min) | load after | full script runs per login (per run) "
        "| per caseload row to chart | cookie retries |",
        "|---|---|---|---|---|---|---|",
    ]
    for info in browser_runs:
        counts = "; ".join(f"{role} {', '.join(map(str, n))}" for role, n in info.script_runs_per_login.items())
        lines.append(
            f"| {info.backend} | {info.patients:,} | {'/'.join(f'{x:.2f}' for x in info.load_before)} | "
            f"{'/'.join(f'{x:.2f}' for x in info.load_after)} | {counts} | "
            f"{', '.join(map(str, info.script_runs_per_chart_open)) or '–'} | {info.cookie_retries} |"
        )
    return lines


def replace_browser_section(report: str, section: list[str]) -> str:
    """RESULTS.md with its browser section replaced (or added before the hand-written notes), the rest as it was."""
    lines = report.rstrip("\n").split("\n")
    start = next((i for i, line in enumerate(lines) if line.startswith(BROWSER_HEADING)), None)
    if start is None:
        notes = next((i for i, line in enumerate(lines) if line.startswith("## Reading these figures")), len(lines))
        return "\n".join([*lines[:notes], *section, "", *lines[notes:]]) + "\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join([*lines[:start], *section, "", *lines[end:]]) + "\n"


def _cell(result: PageResult | None) -> str:
    if result is None:
        return "–"
    return f"{result.median_ms:g} ({result.cold_ms:g}) · CPU {result.cpu_ms:g} · {result.statements}"


def write_reports(
    results: list[PageResult],
    runs_info: list[RunInfo],
    browser: list[BrowserResult],
    writes: list[ThroughputResult],
    meta: dict,
    browser_runs: list[BrowserRunInfo] | None = None,
) -> None:
    report = {
        "meta": meta,
        "runs": [asdict(r) for r in runs_info],
        "results": [asdict(r) for r in results],
        "browser": [asdict(b) for b in browser],
        "browser_runs": [asdict(b) for b in browser_runs or []],
        "writes": [asdict(w) for w in writes],
    }
    (OUT / "results.json").write_text(json.dumps(report, indent=1) + "\n")
    sizes = sorted({r.patients for r in results})
    backends = list(dict.fromkeys(r.backend for r in results))
    pages = list(dict.fromkeys(r.page for r in results))
    by_key = {(r.backend, r.patients, r.page): r for r in results}
    lines = [
        f"# Page benchmarks ({', '.join(f'{n:,}' for n in sizes)} patients)",
        "",
        f"Measured {meta['date']} on {meta['machine']}, through `app.py` (login, navigation, sidebar) with "
        f"Streamlit's AppTest, server-side: each role's user logs in, opens each page once (cold: the first view in "
        f"the session) and reruns it {meta['runs']} times (warm). Same user and patients on both databases.",
        "",
        "Cell: **warm median ms (cold ms) · CPU: warm median of the app process's CPU ms · SQL statements per "
        "view**. The wall times depend on the machine's load (see Runs); the CPU time much less (on PostgreSQL it "
        "leaves out the database server's share, see the SQL floor).",
        "",
        "| page | database | " + " | ".join(f"{n:,} patients" for n in sizes) + " | target ms |",
        "|---|---|" + "---|" * len(sizes) + "---|",
    ]
    for page in pages:
        for backend in backends:
            cells = [_cell(by_key.get((backend, n, page))) for n in sizes]
            lines.append(f"| {page} | {backend} | " + " | ".join(cells) + f" | {TARGET_MS[page]} |")
    lines += [
        "",
        "## SQL floor (the page's statements replayed on a raw connection, writes rolled back), ms",
        "",
        "| page | database | " + " | ".join(f"{n:,}" for n in sizes) + " |",
        "|---|---|" + "---|" * len(sizes),
    ]
    for page in pages:
        for backend in backends:
            cells = ["–" if (r := by_key.get((backend, n, page))) is None else f"{r.sql_floor_ms:g}" for n in sizes]
            lines.append(f"| {page} | {backend} | " + " | ".join(cells) + " |")
    largest = sizes[-1] if sizes else 0
    lines += [
        "",
        f"## App server resident memory (RSS) after each page at {largest:,} patients, MB",
        "",
        "The AppTest runs the app in the benchmark's process, so this is that process's RSS, read after the page's "
        "last run (it includes the roles' earlier pages: pages are visited in table order).",
        "",
        "| page | " + " | ".join(backends) + " |",
        "|---|" + "---|" * len(backends),
    ]
    for page in pages:
        cells = ["–" if (r := by_key.get((b, largest, page))) is None else f"{r.rss_mb:g}" for b in backends]
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Runs",
        "",
        "| database | patients | weeks of history | seeding s | load before (1/5/15 min) | load after | "
        "login to landing ms | overview snapshot refresh ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for info in runs_info:
        seeded = "reused" if info.seed_seconds is None else f"{info.seed_seconds:g}"
        logins = ", ".join(f"{role} {ms:g}" for role, ms in info.login_ms.items())
        lines.append(
            f"| {info.backend} | {info.patients:,} | {info.weeks} | {seeded} | "
            f"{'/'.join(f'{x:.2f}' for x in info.load_before)} | {'/'.join(f'{x:.2f}' for x in info.load_after)} | "
            f"{logins} | {'–' if info.snapshot_refresh_ms is None else f'{info.snapshot_refresh_ms:g}'} |"
        )
    if browser:
        lines += ["", *browser_section(browser, browser_runs or [])]
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
    notes = OUT / "NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    (OUT / "RESULTS.md").write_text("\n".join(lines) + "\n")


def _with_load_tuples(row: dict[str, Any]) -> dict[str, Any]:
    """A run's stored row with its load averages as tuples again (JSON keeps them as lists)."""
    return {**row, "load_before": tuple(row["load_before"]), "load_after": tuple(row["load_after"])}


@dataclass
class EarlierResults:
    """What --append keeps of an earlier results.json."""

    results: list[PageResult] = field(default_factory=list)
    runs: list[RunInfo] = field(default_factory=list)
    browser: list[BrowserResult] = field(default_factory=list)
    browser_runs: list[BrowserRunInfo] = field(default_factory=list)
    writes: list[ThroughputResult] = field(default_factory=list)


def earlier_results(report: dict[str, Any], measured: set[tuple[str, int]]) -> EarlierResults:
    """The page results and runs of the (database, size) pairs this run does not measure, and every browser and
    write timing: those stand unless this run measures them again."""
    return EarlierResults(
        results=[PageResult(**r) for r in report.get("results", []) if (r["backend"], r["patients"]) not in measured],
        runs=[
            RunInfo(**_with_load_tuples(r))
            for r in report.get("runs", [])
            if (r["backend"], r["patients"]) not in measured
        ],
        browser=[BrowserResult(**b) for b in report.get("browser", [])],
        browser_runs=[BrowserRunInfo(**_with_load_tuples(b)) for b in report.get("browser_runs", [])],
        writes=[ThroughputResult(**w) for w in report.get("writes", [])],
    )


def write_browser_report(browser: list[BrowserResult], browser_runs: list[BrowserRunInfo]) -> None:
    """--browser-only: the browser results replace their databases' earlier ones in results.json and the browser
    section of RESULTS.md; the page and write results (and the rest of RESULTS.md) stay as they were."""
    path = OUT / "results.json"
    report = json.loads(path.read_text()) if path.exists() else {}
    measured = {b.backend for b in browser}
    report["browser"] = [b for b in report.get("browser", []) if b["backend"] not in measured] + [
        asdict(b) for b in browser
    ]
    report["browser_runs"] = [b for b in report.get("browser_runs", []) if b["backend"] not in measured] + [
        asdict(b) for b in browser_runs
    ]
    path.write_text(json.dumps(report, indent=1) + "\n")
    all_browser = [BrowserResult(**b) for b in report["browser"]]
    all_runs = [BrowserRunInfo(**_with_load_tuples(b)) for b in report["browser_runs"]]
    results_md = OUT / "RESULTS.md"
    text_before = results_md.read_text() if results_md.exists() else ""
    results_md.write_text(replace_browser_section(text_before, browser_section(all_browser, all_runs)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", default="1000,10000,100000", help="program sizes, comma-separated")
    parser.add_argument("--weeks-history", type=int, default=104)
    parser.add_argument("--runs", type=int, default=15, help="warm views per page")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--keep-dir",
        type=Path,
        default=None,
        help="keep the seeded databases (SQLite files here; PostgreSQL databases iop_bench_<n>_<w>w) and reuse them",
    )
    parser.add_argument(
        "--roles-from",
        default="",
        help="e.g. 100000:supervisor — at that size and above, only these roles' pages (comma-separated)",
    )
    parser.add_argument(
        "--append",
        action="store_true",
        help="keep the page results of bench/results.json for sizes and databases this run does not measure",
    )
    parser.add_argument("--browser-runs", type=int, default=5, help="0 skips the browser timings")
    parser.add_argument("--browser-at", type=int, default=10_000, help="program size for browser and write timings")
    parser.add_argument(
        "--browser-only",
        action="store_true",
        help="only the browser timings (at --browser-at); updates their part of results.json and RESULTS.md",
    )
    parser.add_argument("--clinicians", type=int, default=20)
    parser.add_argument("--write-seconds", type=float, default=30.0, help="0 skips the write benchmark")
    parser.add_argument(
        "--writes-only",
        action="store_true",
        help="only the write benchmark; prints its rows and leaves results.json and RESULTS.md alone",
    )
    parser.add_argument("--postgres-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    # As a demo deployment runs: no second factor asked, no background sweep writing during the timings (the
    # overview's snapshot is refreshed once per database before them, see bench_backend).
    os.environ.setdefault("MFA_REQUIRED", "off")
    os.environ["SWEEP_INTERVAL_MINUTES"] = "0"
    os.environ["OVERVIEW_REFRESH_SECONDS"] = "0"
    # Nor the audit sealer of the app the AppTest runs in this process (the write benchmark runs its own, and the
    # browser timings' app server seals as deployed).
    os.environ["AUDIT_SEAL_INTERVAL_SECONDS"] = "0"
    # The audit seal's key and checkpoints (a deployment keeps them outside the database): one per benchmark run.
    os.environ.setdefault("AUDIT_HMAC_KEY", secrets.token_urlsafe(48))
    os.environ.setdefault("AUDIT_CHECKPOINT_PATH", str(Path(tempfile.mkdtemp()) / "audit-checkpoints.log"))
    limited_from, limited_roles = 0, set(ROLE_PAGES)
    if args.roles_from:
        size, roles = args.roles_from.split(":")
        limited_from, limited_roles = int(size), set(roles.split(","))

    results: list[PageResult] = []
    runs_info: list[RunInfo] = []
    browser: list[BrowserResult] = []
    browser_runs: list[BrowserRunInfo] = []
    writes: list[ThroughputResult] = []
    if args.browser_only:
        args.patients, args.write_seconds = str(args.browser_at), 0
    sizes = [int(n) for n in args.patients.split(",")]
    backends = args.backends.split(",")
    earlier = EarlierResults()
    if args.append and (OUT / "results.json").exists():
        earlier = earlier_results(
            json.loads((OUT / "results.json").read_text()), {(b, n) for b in backends for n in sizes}
        )
        results, runs_info = earlier.results, earlier.runs
    for patients in sizes:
        for backend in backends:
            url, seeded, drop = prepare_database(
                backend, patients, args.weeks_history, keep_dir=args.keep_dir, admin_url=args.postgres_admin_url
            )
            load_before = os.getloadavg()
            roles = limited_roles if limited_from and patients >= limited_from else set(ROLE_PAGES)
            saved = dict(ROLE_PAGES)
            for role in set(ROLE_PAGES) - roles:
                del ROLE_PAGES[role]
            try:
                snapshot_ms: float | None = None
                if args.writes_only or args.browser_only:
                    page_results, login_ms = [], {}
                else:
                    page_results, login_ms, snapshot_ms = bench_backend(backend, url, patients, runs=args.runs)
            finally:
                ROLE_PAGES.clear()
                ROLE_PAGES.update(saved)
            results += page_results
            if not args.browser_only:
                runs_info.append(
                    RunInfo(
                        backend,
                        patients,
                        args.weeks_history,
                        seeded,
                        load_before,
                        os.getloadavg(),
                        login_ms,
                        snapshot_ms,
                    )
                )
            if patients == args.browser_at or args.writes_only:
                # The commands use the process-wide engine (as in the app), so point it at this database.
                os.environ["DATABASE_URL"] = url
                get_settings.cache_clear()
                from db.engine import get_engine

                get_engine.cache_clear()
                engine = make_engine(url)
                if args.browser_runs and not args.writes_only:
                    timings, info = measure_browser(
                        backend, url, browser_users(engine), patients=patients, runs=args.browser_runs
                    )
                    browser += timings
                    browser_runs.append(info)
                if args.write_seconds:
                    writes.append(
                        measure_write_throughput(
                            backend, engine, clinicians=args.clinicians, seconds=args.write_seconds
                        )
                    )
                engine.dispose()
            drop()
            meta = {
                "weeks": args.weeks_history,
                "runs": args.runs,
                "date": utcnow().date().isoformat(),
                "machine": f"{os.cpu_count()} cores",
            }
            if args.writes_only:
                for w in writes[-1:]:
                    print(
                        f"{w.backend}: {w.saves_per_second} saves/s ({w.saves} in {w.seconds} s, {w.clinicians} "
                        f"clinicians), median {w.median_ms} ms, p95 {w.p95_ms} ms, CPU {w.cpu_ms_per_save} ms per "
                        f"save, {w.conflicts} conflicts, {w.errors} errors, waiting on locks {w.waiting_on_locks}, "
                        f"load {load_before[0]:.2f} -> {os.getloadavg()[0]:.2f}",
                        flush=True,
                    )
            elif args.browser_only:
                write_browser_report(browser, browser_runs)
            else:  # after every database: partial results kept
                write_reports(
                    results,
                    runs_info,
                    browser or earlier.browser,
                    writes or earlier.writes,
                    meta,
                    browser_runs or earlier.browser_runs,
                )
    if not args.writes_only:
        print(f"wrote {OUT / 'results.json'} and {OUT / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
