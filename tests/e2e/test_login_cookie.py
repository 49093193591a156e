"""The login cookie in a real browser: what the stack lets it be (issue 14), and that logging out removes it."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.browser
COOKIE = "iop_dashboard_login"


def _login_cookie(page) -> dict | None:  # type: ignore[no-untyped-def]
    return next((cookie for cookie in page.context.cookies() if cookie["name"] == COOKIE), None)


def test_the_login_cookie_is_strict_same_site_and_logging_out_removes_it(app_url: str, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    log_in(page, app_url, "supervisor")
    page.get_by_role("button", name="Log out").filter(visible=True).first.wait_for()
    cookie = _login_cookie(page)
    assert cookie is not None
    assert cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    # Served over plain http here: Secure would make the browser drop it (it is set over https, see README).
    assert cookie["secure"] is False
    # Written by JavaScript (streamlit-authenticator's cookie component), so it cannot be HttpOnly.
    assert cookie["httpOnly"] is False

    page.get_by_role("button", name="Log out").filter(visible=True).first.click()
    page.get_by_role("button", name="Log in").filter(visible=True).first.wait_for()
    for _ in range(40):
        if _login_cookie(page) is None:
            break
        page.wait_for_timeout(250)
    assert _login_cookie(page) is None, "the login cookie survived logout"
    # A reload does not log back in.
    page.reload()
    page.get_by_role("button", name="Log in").filter(visible=True).first.wait_for()
