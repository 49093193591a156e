"""Login and role-gated navigation, driven through Streamlit's AppTest."""

from __future__ import annotations

import ast
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from streamlit import config as st_config

from components.forms import escape_markdown
from components.navigation import PAGES, ROLE_PAGES
from tests.app.conftest import PROJECT_ROOT, log_in, new_app
from tests.factories import make_patient, make_team, make_user

NOT_FOR_ROLE = "Not permitted: this page is not available for your role."


def no_page_message(path: str) -> str:
    # The path comes from the address bar, so it is shown escaped (literally) in the markdown message.
    return f"No page at /{escape_markdown(path)}."


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


def _allowed_roles(page_file: str) -> set[str]:
    """The roles a page file lets in: the arguments of its ``require_role(...)`` call."""
    tree = ast.parse((PROJECT_ROOT / page_file).read_text())
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "require_role"
    ]
    assert len(calls) == 1, f"{page_file} must check the role exactly once"
    return {ast.literal_eval(argument) for argument in calls[0].args}


def test_every_link_a_role_is_offered_opens_for_that_role() -> None:
    for role, names in ROLE_PAGES.items():
        for name in names:
            assert role in _allowed_roles(PAGES[name].path), f"{role} is offered {name} but its page refuses them"


@pytest.mark.parametrize("role", list(LANDING_TITLES))
def test_sidebar_offers_each_role_its_pages(users: dict, role: str) -> None:
    app = log_in(new_app(), f"demo_{role}")
    links = app.sidebar.get("page_link")
    assert [link.value for link in links] == [PAGES[name].title for name in ROLE_PAGES[role]]
    # Each link goes to the page's own address, the landing page's too (not "/").
    assert [link.proto.page for link in links] == [PAGES[name].url_path for name in ROLE_PAGES[role]]


@pytest.mark.parametrize("role", list(LANDING_TITLES))
def test_a_page_not_for_the_role_says_so(users: dict, role: str) -> None:
    # Every page is registered for every user, so its URL opens it and the page file's own check answers.
    app = log_in(new_app(), f"demo_{role}")
    refused = [spec for spec in PAGES.values() if role not in _allowed_roles(spec.path)]
    assert refused
    for spec in refused:
        app.switch_page(spec.path).run()
        assert not app.exception, app.exception
        assert [error.value for error in app.error] == [NOT_FOR_ROLE], spec.path
        assert not app.dataframe and not app.title, spec.path


def test_nurse_opening_users_or_caseload_is_told_it_is_not_for_her_role(users: dict) -> None:
    app = log_in(new_app(), "demo_nurse")
    for page in ("pages/admin/users.py", "pages/prescriber/caseload.py"):
        app.switch_page(page).run()
        assert [error.value for error in app.error] == [NOT_FOR_ROLE]
        assert "Triage queue" not in [title.value for title in app.title]


def test_unknown_url_says_there_is_no_such_page(users: dict) -> None:
    app = new_app()
    app.context["url"] = "http://localhost:8501/nonsense"
    log_in(app, "demo_nurse")
    assert not app.exception, app.exception
    assert [title.value for title in app.title] == ["Page not found"]
    assert [error.value for error in app.error] == [no_page_message("nonsense")]
    assert [link.value for link in app.main.get("page_link")] == ["Go to Triage queue"]
    assert not app.dataframe
    # The page the link leads to is a real page again.
    app.context["url"] = "http://localhost:8501/triage"
    app.switch_page("pages/nurse/triage.py").run()
    assert "Triage queue" in [title.value for title in app.title] and not app.error


def test_unknown_url_opened_before_login_is_named_after_login(users: dict) -> None:
    app = new_app()
    app.context["url"] = "http://localhost:8501/caseload-old"
    app.run()
    assert [field.label for field in app.text_input] == ["Username", "Password"]
    # Streamlit's browser client shows the start page at the root URL after a miss.
    app.context["url"] = "http://localhost:8501/"
    log_in(app, "demo_prescriber")
    assert [error.value for error in app.error] == [no_page_message("caseload-old")]
    assert "Caseload" not in [title.value for title in app.title]


def test_unknown_url_shows_the_path_as_text(users: dict) -> None:
    app = new_app()
    app.context["url"] = "http://localhost:8501/**bold**_x_"
    log_in(app, "demo_nurse")
    assert [error.value for error in app.error] == [r"No page at /\*\*bold\*\*\_x\_."]


@pytest.fixture
def base_url_path() -> Iterator[str]:
    """Served under a path prefix, as behind a reverse proxy (``server.baseUrlPath``)."""
    before = st_config.get_option("server.baseUrlPath")
    st_config.set_option("server.baseUrlPath", "iop")
    yield "iop"
    st_config.set_option("server.baseUrlPath", before)


def test_root_url_leads_to_the_landing_page_under_a_base_path(users: dict, base_url_path: str) -> None:
    app = new_app()
    app.context["url"] = f"http://localhost:8501/{base_url_path}/"
    log_in(app, "demo_nurse")
    assert "Triage queue" in [title.value for title in app.title] and not app.error
    missing = new_app()
    missing.context["url"] = f"http://localhost:8501/{base_url_path}/nonsense"
    log_in(missing, "demo_nurse")
    assert [error.value for error in missing.error] == [no_page_message("nonsense")]


def test_deep_link_opens_its_page_after_the_login_form(users: dict) -> None:
    app = new_app().run()  # logged out: the login form, with every page registered
    app.switch_page("pages/prescriber/refills.py")
    log_in(app, "demo_nurse")
    assert not app.exception, app.exception
    assert [title.value for title in app.title] == ["Refill requests"]


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
    assert [error.value for error in page.error] == [NOT_FOR_ROLE]
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
