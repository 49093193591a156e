"""Browser timings on a benchmark database: the app started as `make run` starts it, driven by Debian's Chromium.

Every wait below is timed in a fresh browser context (no warm page cache, a new Streamlit session), ``runs`` times
after one warm-up run that is not counted (it imports the pages and fills the server's process-wide caches):

- login to caseload: from pressing "Log in" (as the busiest prescriber) to the caseload table being visible;
- caseload row to chart, for the prescriber's patient with the shortest and the one with the longest history
  (the same patients as the server-side benchmark): the patient is found with the caseload's search box first
  (not timed), then from the click on the row to the chart's visit summary (the above-the-fold first paint)
  and, separately, to the timeline drawn;
- visit save, on the long-history chart: answering the 16 PHQ-9/GAD-7 items of the visit form (all in the
  browser: the form sends nothing until submitted), and from the click on "Save visit" to the saved outcome
  shown;
- login to overview: a supervisor, from "Log in" to the overview's figures (cards and per-prescriber table)
  visible, and separately to the page's last chart drawn.

Script runs per login are counted from the server's own messages on the websocket: each full run of the app
script starts with a ``new_session`` message and ends with a ``script_finished`` one (a fragment's rerun carries
its fragment ids and is not counted). The time between the two, summed over a step's runs, is the step's *server
script time*: what the app server spent; the rest of the wait is the browser drawing, and the network.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from db.settings import PROJECT_ROOT
from scripts.app_process import CHROMIUM, CHROMIUM_ARGS, free_port, wait_for_health
from seed.generator import DEMO_PASSWORD

TARGET_MS = 1500  # issue 16: login to caseload, login to overview, caseload row to chart, median at 10,000
COOKIE_NAME = "iop_dashboard_login"
# The caseload grid draws on a canvas: the first data row's selection box sits just below the header row.
FIRST_ROW_MARKER = {"x": 18, "y": 52}
ANSWER_TEXT = ["0 · Not at all", "1 · Several days"]


@dataclass
class BrowserUsers:
    prescriber: str
    supervisor: str
    short_mrn: str  # the prescriber's patient with the shortest history
    long_mrn: str  # and with the longest (most assessments)


@dataclass
class BrowserResult:
    backend: str
    step: str
    median_ms: float
    max_ms: float
    runs: int
    target_ms: int | None  # None: no target in the issue (reported as measured)


@dataclass
class BrowserRunInfo:
    backend: str
    patients: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    script_runs_per_login: dict[str, list[int]] = field(default_factory=dict)  # per role, one count per run
    script_runs_per_chart_open: list[int] = field(default_factory=list)  # caseload row click to the chart drawn
    cookie_retries: int = 0


class ScriptRuns:
    """Full runs of the app script seen by one page, read from the server's messages: each run starts with a
    ``new_session`` message and ends with a ``script_finished`` one (a fragment's rerun carries its fragment ids
    and is left out)."""

    def __init__(self, page: Any) -> None:
        self.started: list[float] = []
        self.finished: dict[int, float] = {}  # index in ``started`` -> when that run finished
        self.pages: list[str] = []  # per run: the page it ended on (the last navigation message's page)
        self.how: dict[int, str] = {}  # per run: how it finished (early: interrupted by a rerun)
        self._names: dict[str, str] = {}
        page.on("websocket", lambda socket: socket.on("framereceived", self._frame))

    def _frame(self, payload: str | bytes) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if isinstance(payload, str):
            return
        message = ForwardMsg.FromString(payload)
        kind = message.WhichOneof("type")
        if message.metadata.run.fragment_ids:
            return
        if kind == "new_session":
            self.started.append(time.monotonic())
            self.pages.append("?")
        elif kind == "navigation" and self.started:
            for app_page in message.navigation.app_pages:
                self._names[app_page.page_script_hash] = app_page.url_pathname or app_page.page_name
            self.pages[-1] = self._names.get(message.navigation.page_script_hash, "?") or "/"
        elif kind == "script_finished" and self.started and len(self.started) - 1 not in self.finished:
            self.finished[len(self.started) - 1] = time.monotonic()
            self.how[len(self.started) - 1] = "early" if message.script_finished == 2 else "done"

    def describe(self, since: int) -> str:
        """The runs since run ``since``: the page each ended on, its server ms, how it finished."""
        return " + ".join(
            f"{self.pages[i]} {1000 * (self.finished[i] - self.started[i]):.0f}ms {self.how[i]}"
            if i in self.finished
            else f"{self.pages[i]} unfinished"
            for i in range(since, len(self.started))
        )

    def server_ms(self, since: int) -> float:
        """The time the server spent in the runs started since run ``since`` (new_session to script_finished)."""
        return 1000 * sum(
            self.finished[index] - self.started[index]
            for index in range(since, len(self.started))
            if index in self.finished
        )

    def settle(self, page: Any, quiet_ms: int = 1500, limit_ms: int = 15_000) -> None:
        """Wait until no run has started for ``quiet_ms`` (a cookie component's rerun comes after the draw)."""
        deadline = time.monotonic() + limit_ms / 1000
        while time.monotonic() < deadline:
            last = self.started[-1] if self.started else 0.0
            if time.monotonic() - last >= quiet_ms / 1000:
                return
            page.wait_for_timeout(200)


def _wait_for_cookie(page: Any, limit_s: float = 20) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if any(cookie["name"] == COOKIE_NAME for cookie in page.context.cookies()):
            return True
        page.wait_for_timeout(100)
    return False


def _visible(page: Any, selector: str) -> Any:
    return page.locator(selector).filter(visible=True).first


def _log_in(
    page: Any, base: str, username: str, landing: Any, runs: ScriptRuns, then: Any = None
) -> tuple[float, float | None, int, float, bool]:
    """Log in; returns the ms from the click to ``landing(page)`` having waited for the landing page (and to
    ``then(page)`` after it, if given), the full script runs from the click until the page is quiet and the ms
    the server spent running them, and whether the login cookie was set."""
    page.goto(base)
    page.get_by_role("textbox", name="Username").filter(visible=True).first.fill(username)
    page.get_by_role("textbox", name="Password").filter(visible=True).first.fill(DEMO_PASSWORD)
    before = len(runs.started)
    started = time.perf_counter()
    page.get_by_role("button", name="Log in").filter(visible=True).first.click()
    landing(page)
    elapsed = (time.perf_counter() - started) * 1000
    later = None
    if then is not None:
        then(page)
        later = (time.perf_counter() - started) * 1000
    cookie = _wait_for_cookie(page)
    runs.settle(page)
    print(f"  login as {username}: {runs.describe(before)}", flush=True)
    return elapsed, later, len(runs.started) - before, runs.server_ms(before), cookie


def _caseload_visible(page: Any) -> None:
    page.get_by_role("heading", name="Caseload").filter(visible=True).first.wait_for()
    _visible(page, "[data-testid='stDataFrame']").wait_for()


def _overview_visible(page: Any) -> None:
    page.get_by_role("heading", name="Program overview").filter(visible=True).first.wait_for()
    page.get_by_role("heading", name="By prescriber").filter(visible=True).first.wait_for()
    _visible(page, "[data-testid='stDataFrame']").wait_for()


def _last_chart_drawn(page: Any) -> None:
    """The overview's last element: the GAD-7 outcomes chart (the second Vega-Lite chart)."""
    page.locator("[data-testid='stVegaLiteChart']").nth(1).locator("canvas, svg").first.wait_for()


def _open_from_caseload(page: Any, mrn: str, runs: ScriptRuns) -> tuple[float, float, int, float]:
    """Find the patient with the caseload's search box (not timed), then time the click on their row to the
    chart's visit summary visible and to the timeline drawn."""
    search = page.get_by_role("textbox", name="Search name or MRN").filter(visible=True).first
    search.fill(mrn)
    search.press("Enter")
    page.get_by_text(re.compile(r"^1 of \d+ patients shown")).filter(visible=True).first.wait_for()
    page.wait_for_timeout(300)  # the filtered grid redrawn
    grid = _visible(page, "[data-testid='stDataFrame']")
    box = grid.locator("canvas").first.bounding_box()
    assert box is not None, "the caseload grid has no canvas"
    runs.settle(page, quiet_ms=500)
    before = len(runs.started)
    started = time.perf_counter()
    page.mouse.click(box["x"] + FIRST_ROW_MARKER["x"], box["y"] + FIRST_ROW_MARKER["y"])
    page.locator(".st-key-visit_summary").get_by_text("Pending refill requests").filter(visible=True).first.wait_for()
    summary = (time.perf_counter() - started) * 1000
    _visible(page, "[data-testid='stVegaLiteChart']").locator("canvas, svg").first.wait_for()
    timeline = (time.perf_counter() - started) * 1000
    assert mrn in page.url, f"the chart opened is not {mrn}'s ({page.url})"
    runs.settle(page, quiet_ms=1000)
    print(f"  chart {mrn}: {runs.describe(before)}", flush=True)
    return summary, timeline, len(runs.started) - before, runs.server_ms(before)


def _save_visit(page: Any) -> tuple[float, float]:
    """On an open chart: the visit form, its 16 items answered (PHQ-9 item 9 "0", every other item "1"), saved."""
    import clinical

    page.get_by_text("Log a visit", exact=True).filter(visible=True).first.click()
    labels = [
        f"{number}. {label}"
        for instrument in ("PHQ-9", "GAD-7")
        for number, label in enumerate(clinical.instrument_info(instrument).item_labels, start=1)
    ]
    groups = [page.get_by_role("radiogroup", name=name, exact=True).filter(visible=True).first for name in labels]
    groups[-1].wait_for()
    page.wait_for_timeout(1000)  # the run that drew the form finished
    started = time.perf_counter()
    for index, group in enumerate(groups):
        group.get_by_text(ANSWER_TEXT[0 if index == 8 else 1], exact=True).click()
    answering = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    page.get_by_role("button", name="Save visit").filter(visible=True).first.click()
    page.get_by_text(re.compile(r"^Visit saved")).filter(visible=True).first.wait_for()
    saving = (time.perf_counter() - started) * 1000
    return answering, saving


def measure_browser(
    backend: str, database_url: str, users: BrowserUsers, *, patients: int, runs: int = 5
) -> tuple[list[BrowserResult], BrowserRunInfo]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    port = free_port()
    log = Path(tempfile.mkdtemp()) / "app.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.run_app", "--port", str(port), "--address", "127.0.0.1", "--no-seed"],
        cwd=PROJECT_ROOT,
        # As deployed: the overview's snapshot refreshed in the background (the page-level bench turns it off).
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "OVERVIEW_REFRESH_SECONDS": "60",
            "OVERVIEW_SNAPSHOT_MAX_AGE_SECONDS": "180",
            "AUDIT_SEAL_INTERVAL_SECONDS": "2",
        },
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    print(f"app server log and screenshots: {log.parent}", flush=True)
    steps: dict[str, list[float]] = {
        "login to caseload": [],
        "login to caseload: server script time": [],
        "caseload row to chart summary, short history": [],
        "caseload row to chart timeline, short history": [],
        "caseload row to chart, short history: server script time": [],
        "caseload row to chart summary, long history": [],
        "caseload row to chart timeline, long history": [],
        "caseload row to chart, long history: server script time": [],
        "answering the 16 PHQ-9/GAD-7 items": [],
        "visit save: click to saved message": [],
        "login to overview (figures)": [],
        "login to overview (last chart drawn)": [],
        "login to overview: server script time": [],
    }
    targets: dict[str, int] = {
        "login to caseload": TARGET_MS,
        "caseload row to chart summary, short history": TARGET_MS,
        "caseload row to chart summary, long history": TARGET_MS,
        "login to overview (figures)": TARGET_MS,
    }
    info = BrowserRunInfo(backend, patients, os.getloadavg(), (0.0, 0.0, 0.0), {"prescriber": [], "supervisor": []})
    try:
        wait_for_health(base, process, timeout=180)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for run in range(runs + 1):  # the first run warms the server's imports and caches and is not counted
                measured: dict[str, float] = {}
                for role, username, landing, then in (
                    ("prescriber", users.prescriber, _caseload_visible, None),
                    ("supervisor", users.supervisor, _overview_visible, _last_chart_drawn),
                ):
                    for _attempt in range(2):  # a just-started server's first login cookie may not land
                        context = browser.new_context(viewport={"width": 1440, "height": 900})
                        page = context.new_page()
                        page.set_default_timeout(90_000)
                        script_runs = ScriptRuns(page)
                        try:
                            login_ms, then_ms, login_runs, login_server_ms, cookie = _log_in(
                                page, base, username, landing, script_runs, then
                            )
                        except PlaywrightTimeout:  # the landing page never came: logged, tried once more
                            page.screenshot(path=str(log.parent / f"login-timeout-{role}-{run}.png"))
                            print(f"  login as {username} timed out: {script_runs.describe(0)}", flush=True)
                            cookie = False
                        if cookie:
                            break
                        info.cookie_retries += 1
                        context.close()
                    else:
                        raise RuntimeError(f"the login cookie of {username} was never set")
                    if run > 0:
                        info.script_runs_per_login[role].append(login_runs)
                    if role == "prescriber":
                        measured["login to caseload"] = login_ms
                        measured["login to caseload: server script time"] = login_server_ms
                        for which, mrn in (("short", users.short_mrn), ("long", users.long_mrn)):
                            if which == "long":
                                page.goto(base)
                                _caseload_visible(page)
                            summary, timeline, chart_runs, chart_server_ms = _open_from_caseload(page, mrn, script_runs)
                            measured[f"caseload row to chart, {which} history: server script time"] = chart_server_ms
                            if run > 0:
                                info.script_runs_per_chart_open.append(chart_runs)
                            measured[f"caseload row to chart summary, {which} history"] = summary
                            measured[f"caseload row to chart timeline, {which} history"] = timeline
                        answering, saving = _save_visit(page)
                        measured["answering the 16 PHQ-9/GAD-7 items"] = answering
                        measured["visit save: click to saved message"] = saving
                    else:
                        measured["login to overview (figures)"] = login_ms
                        measured["login to overview: server script time"] = login_server_ms
                        measured["login to overview (last chart drawn)"] = then_ms or 0.0
                    context.close()
                print(
                    f"browser {backend} run {run}{' (warm-up)' if run == 0 else ''}: "
                    + ", ".join(f"{step} {ms:.0f}" for step, ms in measured.items()),
                    flush=True,
                )
                if run > 0:
                    for step, ms in measured.items():
                        steps[step].append(ms)
            browser.close()
    finally:
        info.load_after = os.getloadavg()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    results = [
        BrowserResult(
            backend, step, round(statistics.median(values), 0), round(max(values), 0), runs, targets.get(step)
        )
        for step, values in steps.items()
        if values
    ]
    return results, info
