"""Login and role-gated navigation, driven through Streamlit's AppTest."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.app.conftest import PROJECT_ROOT, log_in, new_app
from tests.factories import make_patient, make_team, make_user

LANDING_TITLES = {"prescriber": "Caseload", "nurse": "Triage queue", "supervisor": "Program overview", "admin": "Users"}


@pytest.fixture
def users(engine: Engine) -> dict:
    team = make_team(engine, "A")
    people = {role: make_user(engine, role, team_id=team, username=f"demo_{role}") for role in LANDING_TITLES}
    make_patient(engine, prescriber=people["prescriber"], nurse=people["nurse"], given_name="Ana", family_name="Lopez")
    return people


def test_logged_out_user_sees_only_the_login_form(users: dict) -> None:
    app = new_app().run()
    assert not app.exception
    assert [field.label for field in app.text_input] == ["Username", "Password"]
    assert not any(title.value in LANDING_TITLES.values() for title in app.title)


@pytest.mark.parametrize("role", list(LANDING_TITLES))
def test_each_role_lands_on_its_own_page(users: dict, role: str) -> None:
    app = log_in(new_app(), f"demo_{role}")
    assert not app.exception, app.exception
    assert LANDING_TITLES[role] in [title.value for title in app.title]


def test_wrong_password_shows_the_generic_message(users: dict) -> None:
    app = log_in(new_app(), "demo_nurse", "wrong password")
    assert [error.value for error in app.error] == ["Invalid username or password."]
    assert "Triage queue" not in [title.value for title in app.title]


def test_nurse_cannot_reach_a_prescriber_page(users: dict) -> None:
    app = log_in(new_app(), "demo_nurse")
    # The nurse's navigation does not register the caseload page at all, so it cannot be switched to.
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page(str(PROJECT_ROOT / "pages/prescriber/caseload.py"))
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page(str(PROJECT_ROOT / "pages/admin/users.py"))


@pytest.mark.parametrize(
    "page",
    [
        "pages/prescriber/caseload.py",
        "pages/nurse/triage.py",
        "pages/supervisor/overview.py",
        "pages/admin/users.py",
        "pages/clinical/patient_chart.py",
    ],
)
def test_page_file_run_on_its_own_shows_nothing_without_login(users: dict, page: str) -> None:
    # As on a fresh server where Streamlit's legacy discovery runs a page file directly, without app.py.
    app = new_app(page).run()
    assert not app.exception
    assert [warning.value for warning in app.warning] == ["Please log in from the start page."]
    assert not app.dataframe


def test_page_file_refuses_a_logged_in_user_of_another_role(users: dict) -> None:
    app = log_in(new_app(), "demo_nurse")
    session_id = app.session_state["auth_session_id"]
    page = new_app("pages/prescriber/caseload.py")
    page.session_state["auth_session_id"] = session_id
    page.run()
    assert [error.value for error in page.error] == ["Not permitted: this page is not available for your role."]
    assert not page.dataframe


def test_logout_ends_the_session(users: dict) -> None:
    app = log_in(new_app(), "demo_prescriber")
    session_id = app.session_state["auth_session_id"]
    app.sidebar.button[0].click().run()
    assert [field.label for field in app.text_input] == ["Username", "Password"]
    # The old session id no longer opens anything, even if replayed.
    replay = new_app("pages/prescriber/caseload.py")
    replay.session_state["auth_session_id"] = session_id
    replay.run()
    assert [warning.value for warning in replay.warning] == ["Please log in from the start page."]


def test_idle_session_shows_the_login_page_at_the_next_interaction(engine, users: dict) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from sqlalchemy import update

    from db.engine import utcnow, write_session
    from db.models import AuthSession

    app = log_in(new_app(), "demo_prescriber")
    assert "Caseload" in [title.value for title in app.title]
    with write_session(engine) as session:
        session.execute(update(AuthSession).values(last_seen_at=utcnow() - timedelta(minutes=16)))
    app.run()
    assert [field.label for field in app.text_input] == ["Username", "Password"]
    assert [info.value for info in app.info] == ["Your session has ended. Please log in again."]
    assert not app.dataframe and "Caseload" not in [title.value for title in app.title]


def test_deactivated_users_session_opens_nothing(engine, users: dict) -> None:  # type: ignore[no-untyped-def]
    from db.commands.users import deactivate_user

    app = log_in(new_app(), "demo_nurse")
    assert "Triage queue" in [title.value for title in app.title]
    deactivate_user(users["admin"], users["nurse"].user_id, "left the program")
    app.run()
    assert [field.label for field in app.text_input] == ["Username", "Password"]
    assert not app.dataframe
