"""Each role's main pages render in a real browser; screenshots are saved as test artifacts."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import log_in, screenshot

pytestmark = pytest.mark.browser


def test_nurse_triage_queue_and_labs(app_url: str, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    log_in(page, app_url, "nurse")
    page.get_by_role("heading", name="Triage queue").filter(visible=True).first.wait_for()
    page.locator("[data-testid='stDataFrame']").filter(visible=True).first.wait_for()
    page.get_by_text("past their response-time target").wait_for()
    screenshot(page, "triage_queue")
    page.goto(f"{app_url}/labs")
    page.get_by_role("heading", name="Labs").filter(visible=True).first.wait_for()
    page.locator("[data-testid='stDataFrame']").filter(visible=True).first.wait_for()
    screenshot(page, "labs")


def test_prescriber_refill_queue(app_url: str, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    log_in(page, app_url, "prescriber")
    page.get_by_role("heading", name="Caseload").filter(visible=True).first.wait_for()
    page.goto(f"{app_url}/refills")
    page.get_by_role("heading", name="Refill requests").filter(visible=True).first.wait_for()
    page.get_by_role("heading", name="Decide a request").filter(visible=True).first.wait_for()
    screenshot(page, "refill_queue")


def test_supervisor_overview_and_admin_users(app_url: str, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    log_in(page, app_url, "supervisor")
    page.get_by_role("heading", name="Program overview").filter(visible=True).first.wait_for()
    page.get_by_role("heading", name="By prescriber").filter(visible=True).first.wait_for()
    page.get_by_text("Outcomes (measurement-based care)").wait_for()
    page.locator("[data-testid='stVegaLiteChart']").filter(visible=True).first.wait_for()
    screenshot(page, "program_overview")
    admin = new_page()
    log_in(admin, app_url, "admin")
    admin.get_by_role("heading", name="Users").filter(visible=True).first.wait_for()
    admin.locator("[data-testid='stDataFrame']").filter(visible=True).first.wait_for()
    screenshot(admin, "users")


def test_nurse_reads_refills_and_is_told_about_missing_or_foreign_pages(app_url: str, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    log_in(page, app_url, "nurse")
    page.get_by_role("heading", name="Triage queue").filter(visible=True).first.wait_for()
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("link", name="Refill requests").click()
    page.get_by_role("heading", name="Refill requests").filter(visible=True).first.wait_for()
    assert page.url.rstrip("/").endswith("/refills")
    page.locator("[data-testid='stDataFrame']").filter(visible=True).first.wait_for()
    page.get_by_text("Read-only: approving, denying or holding a refill needs prescribing authority").wait_for()
    assert page.get_by_role("button", name="Record decision").count() == 0
    screenshot(page, "refill_queue_nurse")

    # A URL that names no page says so (Streamlit's own notice plus the app's), instead of showing the triage queue.
    page.goto(f"{app_url}/nonsense")
    page.get_by_text("No page at /nonsense.").wait_for()
    assert page.get_by_role("heading", name="Triage queue").count() == 0
    page.keyboard.press("Escape")  # Streamlit's "Page not found" dialog
    page.get_by_role("link", name="Go to Triage queue").click()
    page.get_by_role("heading", name="Triage queue").filter(visible=True).first.wait_for()

    # A page that exists but is not for her role says so too.
    page.goto(f"{app_url}/users")
    page.get_by_text("Not permitted: this page is not available for your role.").wait_for()
    assert page.locator("[data-testid='stDataFrame']").count() == 0
