"""The app keeps serving when the database is unreachable, and the deployment checks refuse unsafe starts."""

from __future__ import annotations

import pytest
from streamlit import config as st_config

from components.resilience import UNAVAILABLE_MESSAGE
from components.security import deployment_problems
from tests.app.conftest import log_in, new_app
from tests.conftest import use_database


def test_unreachable_database_shows_a_retry_notice_not_a_stack_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing listens on port 1: every connection attempt fails at once.
    use_database(monkeypatch, "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    app = log_in(new_app(), "anyone")  # the login page needs no database; logging in does
    assert not app.exception
    assert [warning.value for warning in app.warning] == [UNAVAILABLE_MESSAGE]
    assert not app.dataframe


@pytest.mark.parametrize(
    ("secrets", "problem"),
    [
        ({}, "cookie key (auth.cookie_key in .streamlit/secrets.toml) is missing"),
        ({"auth": {"cookie_key": "change-me-example-cookie-key-0123456789"}}, "example"),
        ({"auth": {"cookie_key": "short"}}, "example or too short"),
    ],
)
def test_missing_or_example_cookie_key_is_a_deployment_problem(secrets: dict, problem: str) -> None:
    assert any(problem in found for found in deployment_problems(secrets))


def test_a_real_key_passes_and_streamlit_cookie_secret_is_checked() -> None:
    good = {"auth": {"cookie_key": "k2VnX0c7mJ4pQ9sT1wY6zB3dF8hL5nR0aE2uI7oP"}}
    assert deployment_problems(good) == []
    st_config.set_option("server.cookieSecret", "example-secret")
    assert any("cookie secret" in found for found in deployment_problems(good))


def test_app_refuses_to_start_with_an_example_key(engine) -> None:  # type: ignore[no-untyped-def]
    app = new_app()
    app.secrets["auth"] = {"cookie_key": "change-me-example-cookie-key-0123456789"}
    app.run()
    assert app.error and "not safe to start" in app.error[0].value
    assert not app.text_input


def test_app_refuses_to_start_without_xsrf_protection(engine) -> None:  # type: ignore[no-untyped-def]
    st_config.set_option("server.enableXsrfProtection", False)
    try:
        app = new_app().run()
        assert app.error and "XSRF" in app.error[0].value
        assert not app.text_input
    finally:
        st_config.set_option("server.enableXsrfProtection", True)
