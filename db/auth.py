"""Login, lockout and server-side sessions.

The browser's login cookie (streamlit-authenticator's signed JWT) only identifies a row of
``auth_sessions``; that row decides whether the user is still logged in. So logout, a password reset
or a deactivation ends a session at its next interaction even if someone kept a copy of the cookie,
and idle and absolute timeouts hold on every app server that shares the database.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import bcrypt
from sqlalchemy import Engine, func, select, update

from db.audit import AuditActor, record_event
from db.engine import read_session, serialize_writes_on, utcnow, write_session
from db.mfa import verify_second_factor
from db.models import AuthSession, LoginAttempt, LoginChallenge, User
from db.permissions import Actor
from db.settings import Settings, get_settings

GENERIC_LOGIN_FAILURE = "Invalid username or password."
THROTTLED_MESSAGE = (
    "Too many failed logins. Please wait {seconds} seconds before trying again; "
    "contact an administrator if this keeps happening."
)
LOCAL_CLIENT = "local"
OPERATOR_UNLOCK = "operator unlock"
# Session activity is written at most this often, so ordinary page use does not write on every click.
_LAST_SEEN_WRITE_INTERVAL = timedelta(seconds=30)


PENDING_APPROVAL_MESSAGE = (
    "This account is waiting for approval by a second administrator or a supervisor; it can log in once approved."
)
SECOND_FACTOR_MESSAGE = "Enter the 6-digit code from your authenticator app, or one of your recovery codes."
SECOND_FACTOR_FAILURE = "That code is not valid (a code works once). Try the next code, or a recovery code."
SECOND_FACTOR_EXPIRED = "The login step has expired or had too many wrong codes. Please log in again."
# The second login step must follow the password within this time, and allows this many wrong codes.
_CHALLENGE_LIFETIME = timedelta(minutes=5)
_CHALLENGE_MAX_FAILURES = 5


class LoginOutcome(Enum):
    SUCCESS = "success"
    INVALID = "invalid"
    THROTTLED = "throttled"
    PENDING_APPROVAL = "pending_approval"
    SECOND_FACTOR = "second_factor"  # the password was right; a TOTP or recovery code must follow


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    message: str
    actor: Actor | None = None
    challenge_id: str | None = None  # for SECOND_FACTOR: the server-side login step to complete


def hash_password(password: str, *, rounds: int = 12) -> str:
    """A bcrypt hash (cost 12 by default; tests pass a lower cost to stay fast)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


def password_matches(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:
        return False


# Checking a password against this dummy hash when the user does not exist keeps response times alike,
# so timing does not tell which user names exist.
_DUMMY_HASH = bcrypt.hashpw(b"not-a-real-password", bcrypt.gensalt(rounds=12)).decode()


def actor_for(user: User, session_id: str | None = None) -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        team_id=user.team_id,
        licensed_states=tuple(user.licensed_states or ()),
        may_break_glass=user.may_break_glass,
        session_id=session_id,
        must_change_password=bool(user.must_change_password),
        mfa_enrolled=user.totp_enrolled_at is not None,
    )


def _failures_since_success(session, username: str, since: datetime) -> tuple[int, datetime | None]:  # type: ignore[no-untyped-def]
    """Failed attempts for ``username`` after ``since`` and after its last success (or operator unlock), and the
    latest of them."""
    last_success = session.scalar(
        select(func.max(LoginAttempt.attempted_at)).where(
            LoginAttempt.username == username, LoginAttempt.succeeded.is_(True)
        )
    )
    start = max(since, last_success) if last_success else since
    count, latest = session.execute(
        select(func.count(), func.max(LoginAttempt.attempted_at)).where(
            LoginAttempt.username == username,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.attempted_at > start,
        )
    ).one()
    return int(count or 0), latest


def _address_failures(session, address: str, since: datetime) -> tuple[int, datetime | None]:  # type: ignore[no-untyped-def]
    count, latest = session.execute(
        select(func.count(), func.max(LoginAttempt.attempted_at)).where(
            LoginAttempt.client_address == address,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.attempted_at > since,
        )
    ).one()
    return int(count or 0), latest


def login_delay_seconds(failures: int, threshold: int, cap_seconds: int) -> int:
    """How long to wait after the latest failure: nothing below ``threshold`` failures, then 2, 4, 8... seconds
    (doubling with each further failure), never more than ``cap_seconds``. A delay, never a lock: guessing
    slows to a crawl, but nobody can keep an account (an administrator's) shut by spraying wrong passwords."""
    if failures < threshold:
        return 0
    return int(min(cap_seconds, 2 ** min(failures - threshold + 1, 30)))


def _wait_left(failures: int, latest: datetime | None, threshold: int, settings: Settings, now: datetime) -> int:
    delay = login_delay_seconds(failures, threshold, settings.login_delay_cap_seconds)
    if not delay or latest is None:
        return 0
    left = (latest + timedelta(seconds=delay) - now).total_seconds()
    return max(0, int(left + 0.999))


def login(
    username: str,
    password: str,
    *,
    client_address: str | None = None,
    engine: Engine | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> LoginResult:
    """Check a login attempt, keep count of failures in the database, and open a session on success.

    After ``lockout_threshold`` failures for a user name (existing or not, so the answer never reveals which
    accounts exist) each further attempt must wait a doubling delay after the last one; so must every attempt
    from a client address with ``address_failure_threshold`` failures in the window, whatever names it tries.
    An attempt made too early is refused without checking the password and does not add to the count.
    """
    settings = settings or get_settings()
    now = now or utcnow()
    username = (username or "").strip()[:64]
    address = (client_address or LOCAL_CLIENT)[:64]
    with write_session(engine) as session:
        # Attempts for one name, and from one address, queue (name first, then address: never in the other
        # order), so that parallel guesses cannot all pass the same failure count.
        serialize_writes_on(session, "login_name", username)
        serialize_writes_on(session, "login_address", address)
        user = session.scalar(select(User).where(User.username == username))
        audit_actor = AuditActor(user.id if user else None, username or None, user.role if user else None)
        window_start = now - timedelta(minutes=settings.lockout_window_minutes)
        failures, latest = _failures_since_success(session, username, window_start)
        address_failures, address_latest = _address_failures(session, address, window_start)
        wait = max(
            _wait_left(failures, latest, settings.lockout_threshold, settings, now),
            _wait_left(address_failures, address_latest, settings.address_failure_threshold, settings, now),
        )
        if wait:
            record_event(
                session,
                audit_actor,
                "login_throttled",
                outcome="denied",
                data_category="security",
                detail=f"{failures} failures for the name, {address_failures} from {address}; {wait} s to wait",
                at=now,
            )
            return LoginResult(LoginOutcome.THROTTLED, THROTTLED_MESSAGE.format(seconds=wait))

        valid = password_matches(password, user.password_hash if user else _DUMMY_HASH) and bool(user)
        if valid and user is not None and user.is_active and user.pending_approval:
            record_event(
                session, audit_actor, "login_refused_pending", outcome="denied", data_category="security", at=now
            )
            return LoginResult(LoginOutcome.PENDING_APPROVAL, PENDING_APPROVAL_MESSAGE)
        if valid and user is not None and user.is_active and user.totp_enrolled_at is not None:
            # The session opens only after the second factor (complete_second_factor).
            challenge = LoginChallenge(
                id=secrets.token_urlsafe(32), user_id=user.id, created_at=now, expires_at=now + _CHALLENGE_LIFETIME
            )
            session.add(challenge)
            record_event(session, audit_actor, "login_password_accepted", data_category="security", at=now)
            return LoginResult(LoginOutcome.SECOND_FACTOR, SECOND_FACTOR_MESSAGE, challenge_id=challenge.id)
        if valid and user is not None and user.is_active:
            return _open_session(session, user, audit_actor, settings, now, address)

        session.add(
            LoginAttempt(
                username=username,
                user_id=user.id if user else None,
                attempted_at=now,
                succeeded=False,
                client_address=address,
            )
        )
        record_event(
            session,
            audit_actor,
            "login_failed",
            outcome="failure",
            data_category="security",
            detail="inactive account" if (valid and user is not None) else None,
            at=now,
        )
        if failures + 1 == settings.lockout_threshold:
            record_event(
                session,
                audit_actor,
                "login_delays_started",
                outcome="denied",
                data_category="security",
                detail=f"{settings.lockout_threshold} failed logins within {settings.lockout_window_minutes} minutes",
                at=now,
            )
        return LoginResult(LoginOutcome.INVALID, GENERIC_LOGIN_FAILURE)


def _open_session(  # type: ignore[no-untyped-def]
    session, user: User, audit_actor: AuditActor, settings: Settings, now: datetime, address: str
) -> LoginResult:
    session.add(
        LoginAttempt(username=user.username, user_id=user.id, attempted_at=now, succeeded=True, client_address=address)
    )
    auth_session = AuthSession(
        id=secrets.token_urlsafe(32),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_lifetime_hours),
    )
    session.add(auth_session)
    record_event(
        session,
        audit_actor,
        "login",
        data_category="security",
        record_type="auth_session",
        record_id=auth_session.id[:8],
        at=now,
    )
    return LoginResult(LoginOutcome.SUCCESS, "Logged in.", actor_for(user, auth_session.id))


def complete_second_factor(
    challenge_id: str | None,
    code: str,
    *,
    client_address: str | None = None,
    engine: Engine | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> LoginResult:
    """The second login step: a fresh TOTP code or an unused recovery code opens the session.

    The step is kept in the database (``login_challenges``), expires after 5 minutes and allows 5 wrong codes;
    each wrong code also counts as a failed login of the account (the same doubling delays as wrong passwords).
    """
    settings = settings or get_settings()
    now = now or utcnow()
    address = (client_address or LOCAL_CLIENT)[:64]
    with write_session(engine) as session:
        # Codes for one challenge queue (its wrong-code count is checked, then raised), and so do they with the
        # account's password attempts (the same failure count); the challenge first, then the name.
        serialize_writes_on(session, "challenge", challenge_id or "")
        challenge = session.get(LoginChallenge, challenge_id) if challenge_id else None
        user = session.get(User, challenge.user_id) if challenge is not None else None
        if user is not None:
            serialize_writes_on(session, "login_name", user.username)
        if (
            challenge is None
            or user is None
            or challenge.completed_at is not None
            or now >= challenge.expires_at
            or challenge.failed_attempts >= _CHALLENGE_MAX_FAILURES
            or not user.is_active
            or user.pending_approval
        ):
            return LoginResult(LoginOutcome.INVALID, SECOND_FACTOR_EXPIRED)
        audit_actor = AuditActor(user.id, user.username, user.role)
        failures, latest = _failures_since_success(
            session, user.username, now - timedelta(minutes=settings.lockout_window_minutes)
        )
        wait = _wait_left(failures, latest, settings.lockout_threshold, settings, now)
        if wait:
            record_event(
                session,
                audit_actor,
                "login_throttled",
                outcome="denied",
                data_category="security",
                detail=f"second factor: {failures} failures; {wait} s to wait",
                at=now,
            )
            return LoginResult(LoginOutcome.THROTTLED, THROTTLED_MESSAGE.format(seconds=wait))
        factor = verify_second_factor(session, user, code, now=now)
        if factor is None:
            challenge.failed_attempts += 1
            # Wrong codes count like wrong passwords (the same doubling delays), so knowing the password does not
            # buy unlimited guesses at the 6-digit code.
            session.add(
                LoginAttempt(
                    username=user.username, user_id=user.id, attempted_at=now, succeeded=False, client_address=address
                )
            )
            record_event(
                session,
                audit_actor,
                "login_second_factor_failed",
                outcome="failure",
                data_category="security",
                at=now,
            )
            session.flush()
            if challenge.failed_attempts >= _CHALLENGE_MAX_FAILURES:
                return LoginResult(LoginOutcome.INVALID, SECOND_FACTOR_EXPIRED)
            return LoginResult(LoginOutcome.SECOND_FACTOR, SECOND_FACTOR_FAILURE, challenge_id=challenge.id)
        challenge.completed_at = now
        if factor == "recovery code":
            record_event(session, audit_actor, "recovery_code_used", data_category="security", at=now)
        return _open_session(session, user, audit_actor, settings, now, address)


def clear_login_delays(username: str, *, engine: Engine | None = None) -> bool:
    """Let ``username`` log in again at once (an operator's command, db.unlock_login): the failures so far no
    longer count. Recorded as an attempt that reset the count, and audited. False if there is no such user."""
    now = utcnow()
    with write_session(engine) as session:
        user = session.scalar(select(User).where(User.username == username.strip()))
        if user is None:
            return False
        session.add(
            LoginAttempt(
                username=user.username,
                user_id=user.id,
                attempted_at=now,
                succeeded=True,
                client_address=OPERATOR_UNLOCK,
            )
        )
        user.locked_until = None
        record_event(
            session,
            None,
            "login_delays_cleared",
            data_category="security",
            record_type="user",
            record_id=user.id,
            detail=f"{user.username}: by an operator on the server",
            at=now,
        )
        return True


def attach_cookie(session_id: str, cookie_exp: float, *, engine: Engine | None = None) -> None:
    """Remember the expiry stamped into the browser's cookie, so a returning cookie finds this session."""
    with write_session(engine) as session:
        session.execute(update(AuthSession).where(AuthSession.id == session_id).values(cookie_exp=cookie_exp))


def resume_from_cookie(
    username: str,
    cookie_exp: float,
    *,
    engine: Engine | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Actor | None:
    """Find the live session a login cookie belongs to; None if it was revoked, expired or never existed."""
    with read_session(engine) as session:
        session_id = session.scalar(
            select(AuthSession.id)
            .join(User, User.id == AuthSession.user_id)
            .where(User.username == username, AuthSession.cookie_exp == cookie_exp)
        )
    if session_id is None:
        return None
    return resolve_session(session_id, engine=engine, settings=settings, now=now)


def resolve_session(
    session_id: str | None,
    *,
    activity: bool = True,
    engine: Engine | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Actor | None:
    """The actor of a live session, re-read from the database on every script run; None ends the session.

    A session ends when it was revoked (logout, password reset, deactivation), when the user is no longer
    active, after the idle timeout, or after the absolute lifetime. ``activity`` False (a timer rerun, such
    as an auto-refreshing queue) checks the session without counting as the user's activity, so an open tab
    that nobody touches still reaches the idle timeout.
    """
    if not session_id:
        return None
    settings = settings or get_settings()
    now = now or utcnow()
    # Most requests only read; the session row is written only to end it or to note activity.
    with read_session(engine) as session:
        row = session.execute(
            select(AuthSession, User).join(User, User.id == AuthSession.user_id).where(AuthSession.id == session_id)
        ).first()
    if row is None:
        return None
    auth_session, user = row
    if auth_session.revoked_at is not None:
        return None
    reason = None
    if not user.is_active:
        reason = "user deactivated"
    elif now >= auth_session.expires_at:
        reason = "session lifetime reached"
    elif now - auth_session.last_seen_at > timedelta(minutes=settings.idle_timeout_minutes):
        reason = "idle timeout"
    if reason is not None:
        with write_session(engine) as session:
            ended = session.execute(
                update(AuthSession)
                .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
                .values(revoked_at=now, revoked_reason=reason)
            )
            if ended.rowcount:
                record_event(session, actor_for(user), "session_ended", data_category="security", detail=reason, at=now)
        return None
    if activity and now - auth_session.last_seen_at >= _LAST_SEEN_WRITE_INTERVAL:
        with write_session(engine) as session:
            session.execute(update(AuthSession).where(AuthSession.id == session_id).values(last_seen_at=now))
    return actor_for(user, session_id)


def logout(session_id: str | None, *, engine: Engine | None = None) -> None:
    """End one session server-side; its cookie no longer opens anything."""
    if not session_id:
        return
    with write_session(engine) as session:
        auth_session = session.get(AuthSession, session_id)
        if auth_session is None or auth_session.revoked_at is not None:
            return
        auth_session.revoked_at = utcnow()
        auth_session.revoked_reason = "logout"
        user = session.get(User, auth_session.user_id)
        record_event(session, actor_for(user) if user else None, "logout", data_category="security")


def revoke_user_sessions(session, user_id: int, reason: str) -> int:  # type: ignore[no-untyped-def]
    """End every live session of a user inside the caller's transaction (password reset, deactivation)."""
    result = session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    return int(result.rowcount or 0)
