"""Fixtures for AppTest: real secrets for the test run and a logged-in session helper."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from tests.factories import TEST_PASSWORD

COOKIE_KEY = secrets.token_urlsafe(48)
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def streamlit_cookie_secret() -> None:
    st_config.set_option("server.cookieSecret", secrets.token_urlsafe(48))


def new_app(page: str = "app.py") -> AppTest:
    app = AppTest.from_file(str(PROJECT_ROOT / page), default_timeout=60)
    app.secrets["auth"] = {"cookie_key": COOKIE_KEY}
    return app


def log_in(app: AppTest, username: str, password: str = TEST_PASSWORD) -> AppTest:
    app.run()
    app.text_input[0].input(username)
    app.text_input[1].input(password)
    app.button[0].click()
    return app.run()


@pytest.fixture
def logged_in() -> Callable[[str], AppTest]:
    def _log_in(username: str, password: str = TEST_PASSWORD) -> AppTest:
        return log_in(new_app(), username, password)

    return _log_in
