"""Browser timings on a benchmark database: the app started as `make run` starts it, driven by Debian's Chromium.

Two user-visible waits are timed, each in a fresh browser context (no warm page cache):
- login: from pressing "Log in" to the caseload table being visible;
- chart: from selecting a patient's row in the caseload to the chart's timeline being drawn.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from db.settings import PROJECT_ROOT
from scripts.app_process import CHROMIUM, CHROMIUM_ARGS, free_port, wait_for_health
from seed.generator import DEMO_PASSWORD

TARGET_MS = 2000
# The caseload grid draws on a canvas: the first data row's selection box sits just below the header row.
FIRST_ROW_MARKER = {"x": 18, "y": 52}


@dataclass
class BrowserResult:
    backend: str
    step: str
    median_ms: float
    max_ms: float
    runs: int
    target_ms: int


def measure_browser(backend: str, database_url: str, username: str, *, runs: int = 5) -> list[BrowserResult]:
    from playwright.sync_api import sync_playwright

    port = free_port()
    log = Path(tempfile.mkdtemp()) / "app.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.run_app", "--port", str(port), "--address", "127.0.0.1"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    login_ms: list[float] = []
    chart_ms: list[float] = []
    try:
        wait_for_health(base, process, timeout=180)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for run in range(runs + 1):  # the first run warms the server's imports and is not counted
                context = browser.new_context(viewport={"width": 1440, "height": 1200})
                page = context.new_page()
                page.set_default_timeout(60_000)
                page.goto(base)
                page.get_by_role("textbox", name="Username").filter(visible=True).first.fill(username)
                page.get_by_role("textbox", name="Password").filter(visible=True).first.fill(DEMO_PASSWORD)
                started = time.perf_counter()
                page.get_by_role("button", name="Log in").filter(visible=True).first.click()
                page.get_by_role("heading", name="Caseload").filter(visible=True).first.wait_for()
                grid = page.locator("[data-testid='stDataFrame']").filter(visible=True).first
                grid.wait_for()
                login_elapsed = time.perf_counter() - started
                page.wait_for_timeout(500)  # let the login cookie land, as a user's next click would
                started = time.perf_counter()
                box = grid.locator("canvas").first.bounding_box()
                assert box is not None, "the caseload grid has no canvas"
                page.mouse.click(box["x"] + FIRST_ROW_MARKER["x"], box["y"] + FIRST_ROW_MARKER["y"])
                page.locator("[data-testid='stVegaLiteChart']").filter(visible=True).first.wait_for()
                chart_elapsed = time.perf_counter() - started
                if run > 0:
                    login_ms.append(login_elapsed * 1000)
                    chart_ms.append(chart_elapsed * 1000)
                context.close()
            browser.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    return [
        BrowserResult(backend, step, round(statistics.median(values), 0), round(max(values), 0), runs, TARGET_MS)
        for step, values in (("login to caseload", login_ms), ("caseload row to chart", chart_ms))
    ]
