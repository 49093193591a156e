"""A prescriber's day in a real browser: log in, caseload, chart with timeline, a visit, log out."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import log_in, screenshot

pytestmark = pytest.mark.browser


def test_prescriber_logs_in_opens_a_chart_and_logs_out(app_url: str, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    log_in(page, app_url, "prescriber")
    page.get_by_role("heading", name="Caseload").filter(visible=True).first.wait_for()
    page.locator("[data-testid='stDataFrame']").filter(visible=True).first.wait_for()
    screenshot(page, "caseload")
    # Open the first patient's chart through the search on the chart page (rows of the grid are a canvas).
    page.goto(f"{app_url}/chart")
    page.get_by_label("Find a patient by name or MRN").wait_for()
    first = page.get_by_role("button", name=re.compile(r"IOP-\d+")).first
    first.click()
    page.locator("[data-testid='stVegaLiteChart']").filter(visible=True).first.wait_for()
    page.get_by_text("PHQ-9 total").filter(visible=True).first.wait_for()
    screenshot(page, "patient_chart")
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Log in").wait_for()


def test_logged_out_user_opening_a_page_url_sees_the_login_page(app_url: str, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    for path in ("/caseload", "/chart?patient=IOP-000001", "/triage", "/overview", "/users"):
        page.goto(f"{app_url}{path}")
        page.get_by_role("button", name="Log in").wait_for()
        assert page.locator("[data-testid='stDataFrame']").count() == 0
        assert page.get_by_text("IOP-000001").count() == 0
