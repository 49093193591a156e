"""Login, lockout kept in the database, and sessions that the server can end."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select

from db.auth import GENERIC_LOGIN_FAILURE, LoginOutcome, login, logout, resolve_session, revoke_user_sessions
from db.engine import read_session, utcnow, write_session
from db.models import AuditEvent, User
from tests.factories import TEST_PASSWORD, make_user


def _actions(engine: Engine) -> list[str]:
    with read_session(engine) as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_login_opens_a_session_that_resolves_to_the_user(engine: Engine) -> None:
    nurse = make_user(engine, "nurse", username="kim")
    result = login("kim", TEST_PASSWORD, engine=engine)
    assert result.outcome is LoginOutcome.SUCCESS
    actor = resolve_session(result.actor.session_id, engine=engine)
    assert actor is not None and actor.user_id == nurse.user_id and actor.role == "nurse"
    assert _actions(engine) == ["login"]


def test_unknown_user_and_wrong_password_get_the_same_message(engine: Engine) -> None:
    make_user(engine, "nurse", username="kim")
    wrong = login("kim", "wrong", engine=engine)
    unknown = login("nobody", TEST_PASSWORD, engine=engine)
    assert wrong.outcome is unknown.outcome is LoginOutcome.INVALID
    assert wrong.message == unknown.message == GENERIC_LOGIN_FAILURE


def test_five_failures_lock_the_account_even_for_the_right_password(engine: Engine) -> None:
    make_user(engine, "prescriber", username="lee")
    start = utcnow()
    for minute in range(5):
        attempt = login("lee", "guess", engine=engine, now=start + timedelta(minutes=minute))
        assert attempt.outcome is LoginOutcome.INVALID
    locked = login("lee", TEST_PASSWORD, engine=engine, now=start + timedelta(minutes=6))
    assert locked.outcome is LoginOutcome.LOCKED and locked.actor is None
    # The lock is kept in the database, so another app server or a restart sees it too.
    after_lock = login("lee", TEST_PASSWORD, engine=engine, now=start + timedelta(minutes=4 + 15 + 1))
    assert after_lock.outcome is LoginOutcome.SUCCESS
    actions = _actions(engine)
    assert actions.count("login_failed") == 5
    assert actions.count("account_locked") == 1
    assert actions.count("login_refused_locked") == 1


def test_failures_spread_beyond_the_window_do_not_lock(engine: Engine) -> None:
    make_user(engine, "prescriber", username="lee")
    start = utcnow()
    for n in range(6):
        login("lee", "guess", engine=engine, now=start + timedelta(minutes=4 * n))
    assert login("lee", TEST_PASSWORD, engine=engine, now=start + timedelta(minutes=25)).outcome is LoginOutcome.SUCCESS


def test_idle_timeout_and_absolute_lifetime_end_the_session(engine: Engine) -> None:
    make_user(engine, "nurse", username="kim")
    start = utcnow()
    session_id = login("kim", TEST_PASSWORD, engine=engine, now=start).actor.session_id
    # Activity every 10 minutes keeps it alive...
    for minutes in (10, 20, 30):
        assert resolve_session(session_id, engine=engine, now=start + timedelta(minutes=minutes)) is not None
    # ...16 idle minutes end it, for good.
    assert resolve_session(session_id, engine=engine, now=start + timedelta(minutes=46, seconds=1)) is None
    assert resolve_session(session_id, engine=engine, now=start + timedelta(minutes=47)) is None

    active_id = login("kim", TEST_PASSWORD, engine=engine, now=start).actor.session_id
    for minutes in range(10, 12 * 60, 10):
        assert resolve_session(active_id, engine=engine, now=start + timedelta(minutes=minutes)) is not None
    assert resolve_session(active_id, engine=engine, now=start + timedelta(hours=12)) is None


def test_logout_deactivation_and_password_reset_revoke_sessions(engine: Engine) -> None:
    user = make_user(engine, "nurse", username="kim")
    first = login("kim", TEST_PASSWORD, engine=engine).actor.session_id
    logout(first, engine=engine)
    assert resolve_session(first, engine=engine) is None

    second = login("kim", TEST_PASSWORD, engine=engine).actor.session_id
    with write_session(engine) as session:
        assert revoke_user_sessions(session, user.user_id, "password reset") == 1
    assert resolve_session(second, engine=engine) is None

    third = login("kim", TEST_PASSWORD, engine=engine).actor.session_id
    with write_session(engine) as session:
        session.get(User, user.user_id).is_active = False
    assert resolve_session(third, engine=engine) is None
    assert login("kim", TEST_PASSWORD, engine=engine).outcome is LoginOutcome.INVALID
