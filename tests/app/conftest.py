"""Fixtures for AppTest: real secrets for the test run, a logged-in session helper, and database read-backs."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from db.engine import read_session
from db.models import AuditEvent
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


def rows(engine: Engine, model: type, *conditions: Any) -> list[Any]:
    """Every row of ``model`` matching ``conditions``, oldest first (detached, attributes loaded)."""
    with read_session(engine) as session:
        return list(session.scalars(select(model).where(*conditions).order_by(model.id)))  # type: ignore[attr-defined]


def audit_rows(engine: Engine, action: str) -> list[AuditEvent]:
    """The audit events of one action, oldest first."""
    return rows(engine, AuditEvent, AuditEvent.action == action)


def shown(elements: Any) -> list[str]:
    """The text of the alerts (app.success, app.error, app.warning, app.info) a user sees."""
    # Alerts are markdown with every special character escaped: compare the text as read.
    return [re.sub(r"\\(.)", r"\1", str(element.value)) for element in elements]
