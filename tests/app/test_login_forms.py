"""The login form, submitted as a user would: what a success, a failure and a lockout write and show.

tests/app/test_login_navigation.py covers where each role lands and the message of a wrong password; this file
checks the rows each attempt writes (login_attempts, auth_sessions) and its audit event.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from db.auth import GENERIC_LOGIN_FAILURE, THROTTLED_MESSAGE
from db.models import AuditEvent, AuthSession, LoginAttempt
from db.settings import get_settings
from tests.app.conftest import audit_rows, log_in, new_app, rows, shown
from tests.factories import TEST_PASSWORD, make_team, make_user


@pytest.fixture
def nurses(engine: Engine) -> dict:
    team = make_team(engine)
    return dict(
        active=make_user(engine, "nurse", team_id=team, username="rn_login"),
        inactive=make_user(engine, "nurse", team_id=team, username="rn_gone", is_active=False),
    )


def _click_log_in_again(app: AppTest) -> AppTest:
    """The impatient second click on "Log in", with the same user name and password still typed in."""
    return next(button for button in app.button if button.label == "Log in").click().run()


def test_a_successful_login_opens_one_session_with_one_audit_event(engine: Engine, nurses: dict) -> None:
    app = log_in(new_app(), "rn_login")

    assert not app.exception, app.exception
    assert not app.error
    assert "Triage queue" in [title.value for title in app.title]
    user_id = nurses["active"].user_id
    assert [(a.username, a.user_id, a.succeeded) for a in rows(engine, LoginAttempt)] == [("rn_login", user_id, True)]
    sessions = rows(engine, AuthSession)
    assert [(s.user_id, s.revoked_at) for s in sessions] == [(user_id, None)]
    assert app.session_state["auth_session_id"] == sessions[0].id
    events = audit_rows(engine, "login")
    assert [(e.user_id, e.username, e.role, e.outcome, e.record_id) for e in events] == [
        (user_id, "rn_login", "nurse", "success", sessions[0].id[:8])
    ]
    # Once logged in the form is gone, so "Log in" cannot be pressed twice; the next interaction opens nothing new.
    assert not [button for button in app.button if button.label == "Log in"]
    app.run()
    assert len(rows(engine, AuthSession)) == 1 and len(audit_rows(engine, "login")) == 1


@pytest.mark.parametrize(
    ("username", "password", "known", "detail"),
    [
        ("rn_login", "not the password", True, None),
        ("nobody_here", TEST_PASSWORD, False, None),
        ("rn_gone", TEST_PASSWORD, True, "inactive account"),
    ],
    ids=["wrong-password", "unknown-user", "inactive-account"],
)
def test_a_failed_login_records_one_attempt_and_one_audit_event_and_shows_the_generic_message(
    engine: Engine, nurses: dict, username: str, password: str, known: bool, detail: str | None
) -> None:
    app = log_in(new_app(), username, password)

    assert not app.exception, app.exception
    # The same message whatever the cause, so it tells nothing about which accounts exist.
    assert shown(app.error) == [GENERIC_LOGIN_FAILURE]
    assert [field.label for field in app.text_input] == ["Username", "Password"]
    user_id = {"rn_login": nurses["active"].user_id, "rn_gone": nurses["inactive"].user_id}.get(username)
    assert [(a.username, a.user_id, a.succeeded) for a in rows(engine, LoginAttempt)] == [(username, user_id, False)]
    events = audit_rows(engine, "login_failed")
    assert [(e.user_id, e.username, e.outcome, e.data_category, e.detail) for e in events] == [
        (user_id if known else None, username, "failure", "security", detail)
    ]
    assert rows(engine, AuthSession) == [] and audit_rows(engine, "login") == []
    assert "auth_session_id" not in app.session_state

    # A second click is a second attempt, and counts as one (lockout depends on it), no more.
    app = _click_log_in_again(app)
    assert not app.exception, app.exception
    assert shown(app.error) == [GENERIC_LOGIN_FAILURE]
    assert len(rows(engine, LoginAttempt)) == 2 and len(audit_rows(engine, "login_failed")) == 2
    assert rows(engine, AuthSession) == []


def test_repeated_failures_bring_a_delay_and_the_next_login_is_asked_to_wait(engine: Engine, nurses: dict) -> None:
    threshold = get_settings().lockout_threshold
    app = log_in(new_app(), "rn_login", "not the password")
    for _ in range(threshold - 1):
        app = _click_log_in_again(app)
    assert not app.exception, app.exception
    assert shown(app.error) == [GENERIC_LOGIN_FAILURE]
    started = audit_rows(engine, "login_delays_started")
    assert [(e.user_id, e.outcome) for e in started] == [(nurses["active"].user_id, "denied")]

    # Straight away, even the right password is refused with the request to wait, and nothing is opened.
    app = log_in(new_app(), "rn_login")
    assert not app.exception, app.exception
    [message] = shown(app.error)
    assert re.fullmatch(THROTTLED_MESSAGE.replace(".", r"\.").format(seconds=r"[12]"), message), message
    assert rows(engine, AuthSession) == []
    refused = audit_rows(engine, "login_throttled")
    assert [(e.user_id, e.outcome) for e in refused] == [(nurses["active"].user_id, "denied")]
    assert len(rows(engine, AuditEvent, AuditEvent.action == "login")) == 0
