"""User administration: create, reset a password, deactivate (never delete: the audit trail stays whole)."""

from __future__ import annotations

import re

from sqlalchemy import Engine, func, select

from db.audit import record_event
from db.auth import hash_password, revoke_user_sessions
from db.commands import EditConflict, InvalidInput
from db.commands.submissions import claim_submission, settle_submission
from db.engine import utcnow, write_session
from db.models import ROLES, Team, User
from db.permissions import Actor, authorize, require

USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")
MIN_PASSWORD_LENGTH = 12
US_STATES = frozenset(
    (
        "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND "
        "OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
    ).split()
)


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput({"password": f"at least {MIN_PASSWORD_LENGTH} characters"})
    if len(password) > 128:
        raise InvalidInput({"password": "at most 128 characters"})


def _validate_states(states: list[str]) -> list[str]:
    cleaned = sorted({state.strip().upper() for state in states if state.strip()})
    unknown = [state for state in cleaned if state not in US_STATES]
    if unknown:
        raise InvalidInput({"licensed states": f"not US state codes: {', '.join(unknown)}"})
    return cleaned


def create_user(
    actor: Actor | None,
    *,
    username: str,
    full_name: str,
    role: str,
    password: str,
    licensed_states: list[str] | None = None,
    team_id: int | None = None,
    credentials: str = "",
    engine: Engine | None = None,
) -> int:
    """Create an account. ``actor`` is None only for the command-line bootstrap of the first admin."""
    if actor is not None:
        authorize(actor, "manage_users", engine=engine)
    errors: dict[str, str] = {}
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        errors["username"] = "3-64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter"
    if not full_name.strip() or len(full_name) > 120:
        errors["full name"] = "is required (at most 120 characters)"
    if role not in ROLES:
        errors["role"] = f"must be one of {', '.join(ROLES)}"
    if errors:
        raise InvalidInput(errors)
    validate_password(password)
    states = _validate_states(licensed_states or [])
    with write_session(engine, actor=actor, capability="manage_users") as session:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise InvalidInput({"username": f"'{username}' is already taken"})
        if team_id is not None and session.get(Team, team_id) is None:
            raise InvalidInput({"team": "no such team"})
        user = User(
            username=username,
            full_name=full_name.strip(),
            role=role,
            password_hash=hash_password(password),
            licensed_states=states,
            team_id=team_id,
            credentials=credentials.strip() or None,
            is_active=True,
            may_break_glass=role in ("prescriber", "nurse", "supervisor"),
        )
        session.add(user)
        session.flush()
        record_event(
            session,
            actor,
            "create_user",
            data_category="user",
            record_type="user",
            record_id=user.id,
            detail=f"{username} as {role}",
        )
        return user.id


def _target(session, actor: Actor, user_id: int, expected_version: int | None) -> User:  # type: ignore[no-untyped-def]
    require(actor, "manage_users")
    user = session.get(User, user_id)
    if user is None:
        raise InvalidInput({"user": "no such user"})
    if expected_version is not None and user.version != expected_version:
        raise EditConflict("This account was changed by someone else since you opened it. Nothing was saved.")
    return user


def reset_password(
    actor: Actor,
    user_id: int,
    new_password: str,
    *,
    expected_version: int | None = None,
    submission: str | None = None,
    engine: Engine | None = None,
) -> int:
    """Set a new password and end every session the user has (their old cookies stop working)."""
    validate_password(new_password)
    with write_session(engine, actor=actor, capability="manage_users") as session:
        claim = claim_submission(session, actor, submission, "reset_password")
        user = _target(session, actor, user_id, expected_version)
        user.password_hash = hash_password(new_password)
        user.password_changed_at = utcnow()
        user.locked_until = None
        ended = revoke_user_sessions(session, user.id, "password reset")
        record_event(
            session,
            actor,
            "reset_password",
            data_category="user",
            record_type="user",
            record_id=user.id,
            detail=f"{ended} session(s) ended",
        )
        settle_submission(claim, record_type="user", record_id=user.id, outcome="Password reset.")
        return ended


def deactivate_user(
    actor: Actor,
    user_id: int,
    reason: str,
    *,
    expected_version: int | None = None,
    submission: str | None = None,
    engine: Engine | None = None,
) -> int:
    """Deactivate an account and end its sessions. Users are never deleted."""
    if not reason.strip():
        raise InvalidInput({"reason": "a reason is required"})
    with write_session(engine, actor=actor, capability="manage_users") as session:
        claim = claim_submission(session, actor, submission, "deactivate_user")
        user = _target(session, actor, user_id, expected_version)
        if not user.is_active:
            raise InvalidInput({"user": f"{user.username} is already inactive"})
        if user.role == "admin" and user.is_active:
            active_admins = session.scalar(select(func.count()).where(User.role == "admin", User.is_active.is_(True)))
            if (active_admins or 0) <= 1:
                raise InvalidInput({"user": "the last active administrator cannot be deactivated"})
        user.is_active = False
        ended = revoke_user_sessions(session, user.id, "deactivated")
        record_event(
            session,
            actor,
            "deactivate_user",
            data_category="user",
            record_type="user",
            record_id=user.id,
            detail=reason.strip()[:500],
        )
        settle_submission(claim, record_type="user", record_id=user.id, outcome="Account deactivated.")
        return ended
