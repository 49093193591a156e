"""The app keeps serving when the database is unreachable, and the deployment checks refuse unsafe starts."""

from __future__ import annotations

import secrets

import pytest
import streamlit
from streamlit import config as st_config
from streamlit.errors import StreamlitSecretNotFoundError
from streamlit.runtime.secrets import Secrets
from streamlit.testing.v1 import AppTest

from components.resilience import UNAVAILABLE_MESSAGE
from components.security import deployment_problems, read_secrets, secret_weakness
from tests.app.conftest import PROJECT_ROOT, log_in, new_app
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
        ({"auth": {"cookie_key": "short"}}, "shorter than 32 characters"),
        # Long enough, but not random (issue 14, item 10): one character, a repeated unit, a run, a phrase.
        ({"auth": {"cookie_key": "a" * 32}}, "a pattern, not a random key"),
        ({"auth": {"cookie_key": "k2VnX0c7" * 6}}, "a pattern, not a random key"),
        ({"auth": {"cookie_key": "abcdefghijklmnopqrstuvwxyzABCDEF"}}, "a pattern, not a random key"),
        ({"auth": {"cookie_key": "aaaabbbbccccddddeeeeffffgggghhhhiiiijjjjkkkkllll"}}, "a pattern, not a random key"),
        ({"auth": {"cookie_key": "Tr0ub4dor&3Tr0ub4dor&3Tr0ub4dor&3XY"}}, "a pattern, not a random key"),
        ({"auth": {"cookie_key": "qwpqwpqwpqwpqwprqwpqwpqwpqwpqwpqrq"}}, "a pattern, not a random key"),
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


@pytest.mark.parametrize("key", [secrets.token_urlsafe(24), secrets.token_urlsafe(48), secrets.token_hex(32)])
def test_generated_keys_pass_the_strength_check(key: str) -> None:
    assert secret_weakness(key) is None


@pytest.mark.parametrize("shown", ["full", "stacktrace", "type", "true"])
def test_error_details_shown_to_users_are_refused_unless_in_dev_mode(shown: str) -> None:
    good = {"auth": {"cookie_key": secrets.token_urlsafe(48)}}
    st_config.set_option("client.showErrorDetails", shown)
    try:
        assert any("Error details are shown to users" in found for found in deployment_problems(good, dev_mode=False))
        assert deployment_problems(good, dev_mode=True) == []
    finally:
        st_config.set_option("client.showErrorDetails", "none")
    assert deployment_problems(good, dev_mode=False) == []


def test_a_missing_or_broken_secrets_file_is_reported_not_raised() -> None:
    class MissingSecrets:
        def to_dict(self) -> dict:
            raise StreamlitSecretNotFoundError("No secrets found.")

    secrets_read, problem = read_secrets(MissingSecrets())
    assert secrets_read == {} and problem is not None and "secrets.toml" in problem


def test_app_shows_the_check_page_without_a_secrets_file(monkeypatch: pytest.MonkeyPatch, engine) -> None:  # type: ignore[no-untyped-def]
    # No secrets given to AppTest: the app reads st.secrets, here a secrets source with no file behind it.
    saved_paths = st_config.get_option("secrets.files")
    st_config.set_option("secrets.files", [str(PROJECT_ROOT / "no-such-dir" / "secrets.toml")])
    monkeypatch.setattr(streamlit, "secrets", Secrets())
    try:
        app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
        app.run()
    finally:
        st_config.set_option("secrets.files", saved_paths)
    assert not app.exception, app.exception
    assert app.error and "not safe to start" in app.error[0].value
    assert "secrets file" in app.error[0].value and "cookie key" in app.error[0].value
    assert not app.text_input
