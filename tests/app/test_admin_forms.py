"""The administrator's user forms (create a user, reset a password, deactivate), driven through the Users page."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from db.auth import LoginOutcome, login, password_matches
from db.models import AuthSession, User
from tests.app.conftest import PROJECT_ROOT, audit_rows, log_in, new_app, rows, shown
from tests.factories import make_team, make_user

USERS = str(PROJECT_ROOT / "pages/admin/users.py")
NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture
def accounts(engine: Engine) -> dict:
    team = make_team(engine, "North")
    admin = make_user(engine, "admin", username="admin_forms")
    nurse = make_user(engine, "nurse", team_id=team, username="rn_target")
    return dict(admin=admin, nurse=nurse, team=team)


def _users_page() -> AppTest:
    app = log_in(new_app(), "admin_forms")  # the admin lands on the Users page
    assert not app.exception, app.exception
    assert "Users" in [title.value for title in app.title]
    return app


def _by_label(widgets: Any, label: str) -> Any:
    """The create-user form's widgets have no keys; a user finds them by their labels too."""
    return next(widget for widget in widgets if widget.label == label)


def _fill_create_form(app: AppTest, team_id: int) -> AppTest:
    _by_label(app.text_input, "User name").input("alex.kim")
    _by_label(app.text_input, "Full name").input("Alex Kim")
    _by_label(app.selectbox, "Role").set_value("nurse")
    _by_label(app.selectbox, "Team").set_value(team_id)
    _by_label(app.text_input, "Licensed states (e.g. NY, NJ)").input("ny; nj")
    _by_label(app.text_input, "Credentials (e.g. MD, PMHNP-BC, RN)").input("RN")
    _by_label(app.text_input, "Initial password (at least 12 characters)").input("first passphrase 2026")
    return _by_label(app.button, "Create user").click().run()


def test_creating_a_user_writes_one_account_with_its_audit_event(engine: Engine, accounts: dict) -> None:
    app = _fill_create_form(_users_page(), accounts["team"])

    assert not app.exception, app.exception
    assert not app.error
    assert shown(app.success) == [
        "Created alex.kim. They must choose their own password at first login; "
        "a second administrator or a supervisor must approve the account first."
    ]
    created = rows(engine, User, User.username == "alex.kim")
    assert [(u.full_name, u.role, u.team_id, u.licensed_states, u.credentials, u.is_active) for u in created] == [
        ("Alex Kim", "nurse", accounts["team"], ["NJ", "NY"], "RN", True)
    ]
    # The admin chose the password: the nurse must replace it, and a second person must approve the account.
    assert (created[0].must_change_password, created[0].pending_approval, created[0].created_by_id) == (
        True,
        True,
        accounts["admin"].user_id,
    )
    assert password_matches("first passphrase 2026", created[0].password_hash)
    events = audit_rows(engine, "create_user")
    assert [(e.record_id, e.user_id, e.patient_id, e.outcome, e.detail) for e in events] == [
        (str(created[0].id), accounts["admin"].user_id, None, "success", "alex.kim as nurse (awaiting approval)")
    ]

    # The impatient second click on "Create user" creates nothing more.
    _by_label(app.button, "Create user").click().run()
    assert not app.exception, app.exception
    assert len(rows(engine, User, User.username == "alex.kim")) == 1
    assert len(audit_rows(engine, "create_user")) == 1
    assert any("Nothing was saved" in message for message in shown(app.error))


def test_creating_a_user_with_a_short_password_saves_nothing_and_names_the_field(
    engine: Engine, accounts: dict
) -> None:
    app = _users_page()
    _by_label(app.text_input, "User name").input("sam.lee")
    _by_label(app.text_input, "Full name").input("Sam Lee")
    _by_label(app.text_input, "Initial password (at least 12 characters)").input("short")
    _by_label(app.button, "Create user").click().run()
    assert not app.exception, app.exception
    assert len(app.error) == 1 and "password" in app.error[0].value and "12 characters" in app.error[0].value
    assert not app.success
    assert rows(engine, User, User.username == "sam.lee") == [] and audit_rows(engine, "create_user") == []


def _logged_in_session(username: str) -> str:
    """The target user is logged in elsewhere: a reset or a deactivation must end that session."""
    result = login(username, "correct horse battery staple")
    assert result.outcome is LoginOutcome.SUCCESS and result.actor is not None and result.actor.session_id
    return result.actor.session_id


def _reset(app: AppTest, user_id: int) -> AppTest:
    app.selectbox(key="manage_user").set_value(user_id)
    app.text_input(key="manage_password").input(NEW_PASSWORD)
    return app.button(key="manage_reset").click().run()


def _deactivate(app: AppTest, user_id: int) -> AppTest:
    app.selectbox(key="manage_user").set_value(user_id)
    app.text_input(key="manage_reason").input("left the program")
    return app.button(key="manage_deactivate").click().run()


def test_resetting_a_password_changes_it_once_ends_the_sessions_and_is_audited(engine: Engine, accounts: dict) -> None:
    session_id = _logged_in_session("rn_target")
    app = _reset(_users_page(), accounts["nurse"].user_id)

    assert not app.exception, app.exception
    assert not app.error
    assert shown(app.success) == [
        "Password reset for rn_target · Nurse rn_target · nurse; 1 session(s) ended. "
        "They must change it at their next login."
    ]
    target = rows(engine, User, User.id == accounts["nurse"].user_id)[0]
    assert password_matches(NEW_PASSWORD, target.password_hash)
    assert target.version == 2
    assert (target.must_change_password, target.pending_approval, target.pending_reason) == (
        True,
        True,
        "password reset",
    )
    ended = rows(engine, AuthSession, AuthSession.id == session_id)[0]
    assert ended.revoked_at is not None and ended.revoked_reason == "password reset"
    events = audit_rows(engine, "reset_password")
    assert [(e.record_id, e.user_id, e.outcome, e.detail) for e in events] == [
        (str(accounts["nurse"].user_id), accounts["admin"].user_id, "success", "1 session(s) ended; awaiting approval")
    ]


def test_deactivating_a_user_deactivates_once_ends_the_sessions_and_is_audited(engine: Engine, accounts: dict) -> None:
    session_id = _logged_in_session("rn_target")
    app = _deactivate(_users_page(), accounts["nurse"].user_id)

    assert not app.exception, app.exception
    assert not app.error
    assert shown(app.success) == ["Deactivated rn_target · Nurse rn_target · nurse; 1 session(s) ended."]
    target = rows(engine, User, User.id == accounts["nurse"].user_id)[0]
    assert (target.is_active, target.version) == (False, 2)
    ended = rows(engine, AuthSession, AuthSession.id == session_id)[0]
    assert ended.revoked_at is not None and ended.revoked_reason == "deactivated"
    events = audit_rows(engine, "deactivate_user")
    assert [(e.record_id, e.user_id, e.outcome, e.detail) for e in events] == [
        (str(accounts["nurse"].user_id), accounts["admin"].user_id, "success", "left the program")
    ]
    # The account is listed as inactive, and is kept (never deleted); the form was cleared after the save.
    assert "rn_target · Nurse rn_target · nurse (inactive)" in app.selectbox(key="manage_user").options
    assert "(inactive)" in app.selectbox(key="manage_user").format_func(accounts["nurse"].user_id)


def test_a_second_click_on_reset_password_writes_nothing_more(engine: Engine, accounts: dict) -> None:
    app = _reset(_users_page(), accounts["nurse"].user_id)
    assert len(audit_rows(engine, "reset_password")) == 1
    app.button(key="manage_reset").click().run()  # the impatient second click, after the first save
    assert not app.exception, app.exception
    assert len(audit_rows(engine, "reset_password")) == 1
    assert rows(engine, User, User.id == accounts["nurse"].user_id)[0].version == 2


def test_a_second_click_on_deactivate_writes_nothing_more(engine: Engine, accounts: dict) -> None:
    app = _deactivate(_users_page(), accounts["nurse"].user_id)
    assert len(audit_rows(engine, "deactivate_user")) == 1
    app.button(key="manage_deactivate").click().run()  # the impatient second click, after the first save
    assert not app.exception, app.exception
    assert len(audit_rows(engine, "deactivate_user")) == 1
