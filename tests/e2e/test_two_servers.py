"""Two app servers on one PostgreSQL database, as behind a load balancer with sticky sessions: a change made
through one is seen through the other, and lockout and session revocation hold across both."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from scripts.app_process import free_port, wait_for_health
from tests.conftest import POSTGRES_ADMIN_URL, _postgres_unavailable_reason
from tests.e2e.conftest import log_in, start_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    import os

    reason = _postgres_unavailable_reason()
    if reason:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"iop_two_servers_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    workdir = tmp_path_factory.mktemp("two-servers")
    processes = []
    urls = []
    try:
        # The first server migrates and seeds; the second starts on the already-prepared database.
        for label in ("a", "b"):
            port = free_port()
            # One administrator creates the account here, with no second approver: approval is off, as in a
            # one-person demo (tests/db/test_accounts.py covers approval across servers' shared database).
            process = start_app(url, port, Path(workdir) / f"server-{label}.log", {"ACCOUNT_APPROVAL": "off"})
            processes.append(process)
            base = f"http://127.0.0.1:{port}"
            wait_for_health(base, process, timeout=120)
            urls.append(base)
        yield urls[0], urls[1], url
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _attempt_login(page, base: str, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base)
    page.get_by_role("textbox", name="Username").filter(visible=True).first.fill(username)
    page.get_by_role("textbox", name="Password").filter(visible=True).first.fill(password)
    page.get_by_role("button", name="Log in").filter(visible=True).first.click()


def test_a_user_created_on_one_server_logs_in_on_the_other(two_servers, new_page) -> None:  # type: ignore[no-untyped-def]
    server_a, server_b, _ = two_servers
    admin = new_page()
    log_in(admin, server_a, "admin")
    admin.get_by_role("heading", name="Users").filter(visible=True).first.wait_for()
    admin.get_by_role("textbox", name="User name").filter(visible=True).first.fill("new.prescriber")
    admin.get_by_role("textbox", name="Full name").filter(visible=True).first.fill("New Prescriber, MD")
    admin.get_by_role("textbox", name="Initial password (at least 12 characters)").filter(visible=True).first.fill(
        "a long new passphrase"
    )
    admin.get_by_role("button", name="Create user").filter(visible=True).first.click()
    admin.get_by_text("Created new.prescriber.").filter(visible=True).first.wait_for()
    # Server B has never seen this user: it must read the database, not a per-process copy.
    # The role picker keeps its default (prescriber), so the new user lands on an empty caseload.
    prescriber = new_page()
    log_in(prescriber, server_b, "new.prescriber", "a long new passphrase")
    # An administrator set the password, so server B asks for the user's own before anything else.
    prescriber.get_by_role("heading", name="Change your password").filter(visible=True).first.wait_for()
    prescriber.get_by_text("New Prescriber, MD").filter(visible=True).first.wait_for()
    assert prescriber.get_by_role("heading", name="Users").count() == 0


def test_login_delays_counted_on_one_server_hold_on_the_other(two_servers, new_page) -> None:  # type: ignore[no-untyped-def]
    server_a, server_b, _ = two_servers
    page = new_page()
    for _ in range(5):
        _attempt_login(page, server_a, "nurse2", "not the password")
        page.get_by_text("Invalid username or password.").filter(visible=True).first.wait_for()
    # Server b counts the failures made through a: within three attempts there (delays of 2, 4, 8 s) it asks to
    # wait, which on its own count it would do only after five.
    other = new_page()
    throttle = re.compile(r"^Too many failed logins")
    for _ in range(3):
        _attempt_login(other, server_b, "nurse2", "not the password")
        answer = other.get_by_text(re.compile(r"^(Invalid username or password\.|Too many failed logins)"))
        answer.filter(visible=True).first.wait_for()
        if other.get_by_text(throttle).filter(visible=True).count():
            break
    else:
        raise AssertionError("server b did not count the failures made through server a")
    assert other.get_by_role("button", name="Log out").count() == 0


def test_revocation_by_another_process_ends_the_session_on_both_servers(two_servers, new_page) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from db.auth import actor_for
    from db.commands.users import deactivate_user
    from db.engine import make_engine, read_session
    from db.models import User

    server_a, server_b, database_url = two_servers
    on_a, on_b = new_page(), new_page()
    log_in(on_a, server_a, "prescriber2")
    log_in(on_b, server_b, "prescriber2")
    for page in (on_a, on_b):
        page.get_by_role("heading", name="Caseload").filter(visible=True).first.wait_for()
    engine = make_engine(database_url)
    with read_session(engine) as session:
        admin = actor_for(session.scalars(select(User).where(User.username == "admin")).one())
        target = session.scalars(select(User).where(User.username == "prescriber2")).one().id
    deactivate_user(admin, target, "left the program", engine=engine)
    engine.dispose()
    # The next interaction on either server shows the login page, although both browsers keep their cookie.
    for page in (on_a, on_b):
        page.reload()
        page.get_by_role("button", name="Log in").filter(visible=True).first.wait_for()
        assert page.locator("[data-testid='stDataFrame']").count() == 0
