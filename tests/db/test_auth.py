"""Login, lockout kept in the database, and sessions that the server can end."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine, select

from db.auth import (
    GENERIC_LOGIN_FAILURE,
    THROTTLED_MESSAGE,
    LoginOutcome,
    login,
    login_delay_seconds,
    logout,
    resolve_session,
    revoke_user_sessions,
)
from db.engine import read_session, utcnow, write_session
from db.models import AuditEvent, LoginAttempt, User
from db.settings import get_settings
from db.unlock_login import main as unlock_main
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


def test_failures_bring_doubling_delays_never_a_lock(engine: Engine) -> None:
    make_user(engine, "prescriber", username="lee")
    start = utcnow()
    for second in range(5):
        attempt = login("lee", "guess", engine=engine, now=start + timedelta(seconds=second))
        assert attempt.outcome is LoginOutcome.INVALID
    # Five failures: the next attempt must wait 2 s after the last one, even with the right password...
    early = login("lee", TEST_PASSWORD, engine=engine, now=start + timedelta(seconds=5))
    assert early.outcome is LoginOutcome.THROTTLED and early.actor is None
    assert early.message == THROTTLED_MESSAGE.format(seconds=1)
    # ...and a refused attempt does not lengthen the wait.
    assert login("lee", "guess", engine=engine, now=start + timedelta(seconds=6)).outcome is LoginOutcome.INVALID
    assert login("lee", "guess", engine=engine, now=start + timedelta(seconds=9)).outcome is LoginOutcome.THROTTLED
    assert login("lee", TEST_PASSWORD, engine=engine, now=start + timedelta(seconds=10)).outcome is LoginOutcome.SUCCESS
    actions = _actions(engine)
    assert actions.count("login_failed") == 6
    assert actions.count("login_delays_started") == 1
    assert actions.count("login_throttled") == 2


def test_the_delay_doubles_and_is_capped(engine: Engine) -> None:
    assert [login_delay_seconds(n, 5, 300) for n in range(4, 15)] == [0, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


def test_spraying_every_account_leaves_the_administrator_able_to_log_in(engine: Engine) -> None:
    """The attack that locked 9 of 11 accounts: wrong passwords sprayed at every name from one address."""
    names = [make_user(engine, role, username=f"{role}{n}").username for n in range(3) for role in ("nurse", "admin")]
    start = utcnow()
    for round_number in range(12):
        for index, name in enumerate(names):
            login(
                name,
                "guess",
                client_address="203.0.113.9",
                engine=engine,
                now=start + timedelta(seconds=round_number * 60 + index),
            )
    attacker = login(
        "admin0",
        "guess",
        client_address="203.0.113.9",
        engine=engine,
        now=start + timedelta(seconds=11 * 60 + len(names)),
    )
    assert attacker.outcome is LoginOutcome.THROTTLED  # the spraying address is slowed down for every name
    # The administrator, from their own address, waits at most the cap after the last failure, never longer.
    cap = timedelta(seconds=300)
    last_failure = start + timedelta(seconds=11 * 60 + len(names))
    admin = login("admin0", TEST_PASSWORD, client_address="198.51.100.7", engine=engine, now=last_failure + cap)
    assert admin.outcome is LoginOutcome.SUCCESS


def test_many_failures_from_one_address_throttle_that_address_only(engine: Engine) -> None:
    make_user(engine, "nurse", username="kim")
    # Three instead of 30 failures (each unknown name costs a bcrypt check): the rule is the same.
    settings = replace(get_settings(), address_failure_threshold=3)
    start = utcnow()
    for n in range(3):
        login(
            f"nobody{n}",
            "guess",
            client_address="203.0.113.9",
            engine=engine,
            settings=settings,
            now=start + timedelta(seconds=n),
        )
    later = start + timedelta(seconds=3)
    blocked = login("kim", TEST_PASSWORD, client_address="203.0.113.9", engine=engine, settings=settings, now=later)
    assert blocked.outcome is LoginOutcome.THROTTLED
    elsewhere = login("kim", TEST_PASSWORD, client_address="198.51.100.7", engine=engine, settings=settings, now=later)
    assert elsewhere.actor is not None


def test_an_operator_clears_the_delays_of_an_administrator(engine: Engine, capsys) -> None:  # type: ignore[no-untyped-def]
    admin = make_user(engine, "admin", username="root.admin")
    with write_session(engine) as session:
        ten_seconds_ago = utcnow() - timedelta(seconds=10)
        session.add_all(
            LoginAttempt(username="root.admin", user_id=admin.user_id, attempted_at=ten_seconds_ago, succeeded=False)
            for _ in range(12)
        )
    assert login("root.admin", TEST_PASSWORD, engine=engine).outcome is LoginOutcome.THROTTLED
    assert unlock_main(["root.admin"]) == 0
    assert "may log in again" in capsys.readouterr().out
    assert login("root.admin", TEST_PASSWORD, engine=engine).actor is not None
    assert "login_delays_cleared" in _actions(engine)
    assert unlock_main(["nobody"]) == 1


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


def test_parallel_guesses_at_one_name_cannot_pass_the_same_failure_count(engine: Engine) -> None:
    """Writes no longer share one lock (issue 16): attempts for one name queue on their own, so that guesses sent
    at once are counted one after the other and only as many as the threshold get their password checked."""
    import threading

    make_user(engine, "prescriber", username="lee")
    settings = replace(get_settings(), lockout_threshold=3)
    now = utcnow()
    outcomes: list[LoginOutcome] = []
    gate = threading.Barrier(8)

    def guess(address: str) -> None:
        gate.wait()
        attempt = login("lee", "guess", client_address=address, engine=engine, settings=settings, now=now)
        outcomes.append(attempt.outcome)

    # From different addresses (as a botnet would): only the name's own queue keeps the count.
    threads = [threading.Thread(target=guess, args=(f"client-{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcome.name for outcome in outcomes) == ["INVALID"] * 3 + ["THROTTLED"] * 5
