"""An open tab whose fragments rerun alone (the auto-refreshing triage queue) re-checks the login session on each
run: deactivation ends it at the next refresh or click, and a tab nobody touches reaches the idle timeout although
its timer keeps rerunning (issue 14, item 1). Runs its own server with a 2 s refresh and a 1 minute idle timeout."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update

from db.commands.users import deactivate_user
from db.engine import make_engine, read_session, utcnow, write_session
from db.models import AuditEvent, AuthSession, User
from db.permissions import Actor
from scripts.app_process import free_port, wait_for_health
from tests.e2e.conftest import log_in, screenshot, start_app

pytestmark = pytest.mark.browser
REFRESH_SECONDS = 2


@pytest.fixture(scope="module")
def fast_refresh_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    workdir = tmp_path_factory.mktemp("session-fragments")
    url = f"sqlite:///{workdir / 'app.db'}"
    port = free_port()
    env = {"TRIAGE_REFRESH_SECONDS": str(REFRESH_SECONDS), "IDLE_TIMEOUT_MINUTES": "1"}
    process = start_app(url, port, workdir / "app.log", extra_env=env)
    base = f"http://127.0.0.1:{port}"
    engine = make_engine(url)
    try:
        wait_for_health(base, process, timeout=120)
        yield base, engine
    finally:
        process.terminate()
        process.wait(timeout=15)
        engine.dispose()


def _open_triage(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    log_in(page, base, username)
    page.get_by_role("heading", name="Act on a flag").filter(visible=True).first.wait_for()


def _live_session(engine: Engine, username: str) -> AuthSession:
    with read_session(engine) as session:
        return session.scalars(
            select(AuthSession)
            .join(User, User.id == AuthSession.user_id)
            .where(User.username == username, AuthSession.revoked_at.is_(None))
            .order_by(AuthSession.created_at.desc())
        ).first()


def _set_last_seen(engine: Engine, session_id: str, seconds_ago: int) -> None:
    with write_session(engine) as session:
        session.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id)
            .values(last_seen_at=utcnow() - timedelta(seconds=seconds_ago))
        )


def _wait_for_login_page(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Log in").filter(visible=True).first.wait_for(timeout=REFRESH_SECONDS * 5_000)
    page.get_by_text("Your session has ended. Please log in again.").filter(visible=True).first.wait_for()


def test_a_deactivated_nurse_is_logged_out_of_an_open_triage_tab_and_cannot_act(
    new_page, fast_refresh_app: tuple[str, Engine]
) -> None:
    base, engine = fast_refresh_app
    page = new_page()
    _open_triage(page, base, "nurse2")
    # The nurse picks an action and types a note; then an administrator deactivates the account.
    page.get_by_text("Acknowledge", exact=True).filter(visible=True).first.click()
    page.get_by_role("textbox", name=re.compile("^Note")).filter(visible=True).first.fill("called the patient")
    with read_session(engine) as session:
        nurse = session.scalars(select(User).where(User.username == "nurse2")).one()
        admin = session.scalars(select(User).where(User.role == "admin")).first()
    admin_actor = Actor(user_id=admin.id, username=admin.username, full_name=admin.full_name, role="admin")
    deactivate_user(admin_actor, nurse.id, "left the program", expected_version=nurse.version, engine=engine)
    page.get_by_role("button", name="Save", exact=True).filter(visible=True).first.click()
    _wait_for_login_page(page)
    screenshot(page, "triage_deactivated_nurse_logged_out")
    with read_session(engine) as session:
        acted = session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.username == "nurse2", AuditEvent.action.like("flag_%"), AuditEvent.outcome == "success"
            )
        ).all()
    assert acted == []


def test_an_untouched_triage_tab_reaches_the_idle_timeout_while_it_refreshes(
    new_page, fast_refresh_app: tuple[str, Engine]
) -> None:
    base, engine = fast_refresh_app
    page = new_page()
    _open_triage(page, base, "nurse")
    session_id = _live_session(engine, "nurse").id
    # Let the page settle (the login's run and the cookie fragment's rerun) before the idle clock is set back.
    page.wait_for_timeout(REFRESH_SECONDS * 1_500)
    # 40 s idle (past the 30 s between activity writes): timer refreshes must not count as activity...
    _set_last_seen(engine, session_id, 40)
    with read_session(engine) as session:
        noted = session.get(AuthSession, session_id).last_seen_at
    page.wait_for_timeout(REFRESH_SECONDS * 2_500)
    with read_session(engine) as session:
        assert session.get(AuthSession, session_id).last_seen_at == noted
    # ...while a choice the nurse makes inside the refreshing fragment does.
    page.get_by_text("Escalate to prescriber", exact=True).filter(visible=True).first.click()
    for _ in range(40):
        with read_session(engine) as session:
            if session.get(AuthSession, session_id).last_seen_at > noted:
                break
        page.wait_for_timeout(250)
    else:
        raise AssertionError("a click in the refreshing fragment did not count as activity")
    # Now nobody touches the tab for over a minute: the next refresh shows the login page, not the queue.
    _set_last_seen(engine, session_id, 70)
    _wait_for_login_page(page)
    assert page.get_by_text(re.compile(r"URGENT.* · owner: ")).count() == 0
    with read_session(engine) as session:
        assert session.get(AuthSession, session_id).revoked_reason == "idle timeout"
