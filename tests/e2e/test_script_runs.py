"""What a login and a click on a caseload row cost in full runs of the app script, counted from the server's own
messages (bench.browser.ScriptRuns: each full run starts with ``new_session`` and ends with ``script_finished``;
a fragment's rerun carries its fragment ids and is not counted)."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from bench.browser import FIRST_ROW_MARKER, ScriptRuns
from db.auth import actor_for
from db.engine import make_engine, read_session
from db.models import User
from db.queries.caseload import caseload
from tests.e2e.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser
COOKIE = "iop_dashboard_login"


def _has_login_cookie(page) -> bool:  # type: ignore[no-untyped-def]
    return any(cookie["name"] == COOKIE for cookie in page.context.cookies())


def _wait_for_login_cookie(page, limit_s: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit_s
    while not _has_login_cookie(page):
        assert time.monotonic() < deadline, "the login cookie was never set"
        page.wait_for_timeout(100)


def _wait_until_finished(page, runs: ScriptRuns, limit_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    """Until every run started so far has finished (a page is visible before its run ends)."""
    deadline = time.monotonic() + limit_s
    while any(index not in runs.finished for index in range(len(runs.started))):
        assert time.monotonic() < deadline, f"a run never finished: {runs.describe(0)}"
        page.wait_for_timeout(100)


def _caseload_drawn(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("heading", name="Caseload").filter(visible=True).first.wait_for()
    page.locator("[data-testid='stDataFrame']").filter(visible=True).first.wait_for()


def test_a_login_runs_the_landing_page_once_and_a_reload_resumes_in_one_run(app_url: str, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    runs = ScriptRuns(page)
    page.goto(app_url)
    page.get_by_role("textbox", name="Username").filter(visible=True).first.fill("prescriber")
    page.get_by_role("textbox", name="Password").filter(visible=True).first.fill(DEMO_PASSWORD)
    runs.settle(page, quiet_ms=1500)
    assert len(runs.started) == 1, f"opening the login page: {runs.describe(0)}"

    before = len(runs.started)
    page.get_by_role("button", name="Log in").filter(visible=True).first.click()
    _caseload_drawn(page)
    _wait_for_login_cookie(page)
    runs.settle(page, quiet_ms=2500)  # a rerun caused by the cookie's component would come after the draw
    _wait_until_finished(page, runs)
    assert len(runs.started) - before == 1, f"the login: {runs.describe(before)}"
    assert runs.how[before] == "done"

    # A reload opens the landing page from the cookie (read from the request), in one run, without the form.
    page.reload()
    _caseload_drawn(page)
    before = len(runs.started) - 1
    runs.settle(page, quiet_ms=2500)
    _wait_until_finished(page, runs)
    assert page.get_by_role("button", name="Log in").count() == 0
    assert len(runs.started) - before == 1, f"the reload: {runs.describe(before)}"


def _first_caseload_mrn(database_url: str, username: str) -> str:
    engine = make_engine(database_url)
    with read_session(engine) as session:
        user = session.scalars(select(User).where(User.username == username)).one()
    table = caseload(actor_for(user), engine=engine)
    engine.dispose()
    return str(table.iloc[0]["MRN"])


def test_a_click_on_a_caseload_row_opens_that_chart_in_one_run(  # type: ignore[no-untyped-def]
    app_url: str, e2e_database_url: str, new_page
) -> None:
    mrn = _first_caseload_mrn(e2e_database_url, "prescriber")
    page = new_page()
    runs = ScriptRuns(page)
    page.goto(app_url)
    page.get_by_role("textbox", name="Username").filter(visible=True).first.fill("prescriber")
    page.get_by_role("textbox", name="Password").filter(visible=True).first.fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").filter(visible=True).first.click()
    _caseload_drawn(page)
    _wait_for_login_cookie(page)
    search = page.get_by_role("textbox", name="Search name or MRN").filter(visible=True).first
    search.fill(mrn)
    search.press("Enter")
    page.get_by_text(re.compile(r"^1 of \d+ patients shown")).filter(visible=True).first.wait_for()
    runs.settle(page, quiet_ms=1000)
    _wait_until_finished(page, runs)
    grid = page.locator("[data-testid='stDataFrame']").filter(visible=True).first
    box = grid.locator("canvas").first.bounding_box()
    assert box is not None, "the caseload grid has no canvas"

    before = len(runs.started)
    page.mouse.click(box["x"] + FIRST_ROW_MARKER["x"], box["y"] + FIRST_ROW_MARKER["y"])
    page.locator(".st-key-visit_summary").filter(visible=True).first.wait_for()
    page.get_by_text(mrn).filter(visible=True).first.wait_for()
    runs.settle(page, quiet_ms=1500)
    _wait_until_finished(page, runs)
    assert re.search(rf"/chart\?patient={mrn}$", page.url), page.url
    assert len(runs.started) - before == 1, f"the row click: {runs.describe(before)}"
    assert runs.pages[before] == "chart" and runs.how[before] == "done", runs.describe(before)
