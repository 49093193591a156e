"""User administration: create, reset a password, approve, deactivate (never delete: the audit trail stays whole).

An administrator manages accounts but must not be able to read charts through them (issue 14, item 6). So a
password an administrator sets (a new account's, or a reset) must be changed by its user at first login
(``must_change_password``), and an account created or reset this way cannot log in until someone other than the
administrator who did it (a second administrator, or a supervisor) approves it (``pending_approval``). That
holds for administrator accounts too: otherwise one administrator could create a second administrator account
and approve their own clinical accounts with it. The first administrator and the first approver come from the
command line (``python -m db.create_admin``), which needs access to the server. ``ACCOUNT_APPROVAL=off`` skips
the approval for a one-person demo.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine, func, select, update

from db.audit import record_event
from db.auth import hash_password, revoke_user_sessions
from db.commands import EditConflict, InvalidInput
from db.commands.submissions import claim_submission, settle_submission
from db.engine import utcnow, write_session
from db.models import ROLES, RecoveryCode, Team, User
from db.passwords import MIN_PASSWORD_LENGTH, password_problem
from db.permissions import Actor, PermissionDenied, authorize, require
from db.settings import get_settings

USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")
# Accounts that open charts (and may break the glass).
CLINICAL_ROLES = frozenset({"prescriber", "nurse", "supervisor"})
__all__ = [
    "CLINICAL_ROLES",
    "MIN_PASSWORD_LENGTH",
    "approve_account",
    "create_user",
    "deactivate_user",
    "needs_approval",
    "reset_authenticator",
    "reset_password",
]
US_STATES = frozenset(
    (
        "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND "
        "OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
    ).split()
)


def validate_password(password: str, *, username: str | None = None) -> None:
    """NIST SP 800-63B checks (db/passwords.py): length, blocklist, patterns, the user name; no composition rules."""
    problem = password_problem(password, username=username)
    if problem is not None:
        raise InvalidInput({"password": problem})


def needs_approval(role: str) -> bool:
    """Whether an account of ``role`` created, or given a password or authenticator reset, by an administrator
    waits for a second person: every role (an administrator account approves accounts, a clinical one reads
    charts), unless ACCOUNT_APPROVAL=off."""
    return role in ROLES and get_settings().account_approval


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
    """Create an account. ``actor`` is None only for the command-line bootstrap of the first admin.

    An account an administrator creates must change its password at first login, and a clinical one waits
    for approval by someone else (``approve_account``) before it can log in.
    """
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
    validate_password(password, username=username)
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
            may_break_glass=role in CLINICAL_ROLES,
            # The command-line bootstrap admin chose their own password; everyone else's was chosen for them.
            must_change_password=actor is not None,
            pending_approval=actor is not None and needs_approval(role),
            pending_reason="new account" if actor is not None and needs_approval(role) else None,
            created_by_id=actor.user_id if actor is not None else None,
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
            detail=f"{username} as {role}" + (" (awaiting approval)" if user.pending_approval else ""),
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
    """Set a new password and end every session the user has (their old cookies stop working).

    The user must change it at their next login, and the account waits for a second person's approval, so an
    administrator cannot log in as a clinician (or another administrator) with a password of their choosing.
    """
    with write_session(engine, actor=actor, capability="manage_users") as session:
        claim = claim_submission(session, actor, submission, "reset_password")
        user = _target(session, actor, user_id, expected_version)
        validate_password(new_password, username=user.username)
        if user.id == actor.user_id:
            raise InvalidInput({"user": "change your own password on the 'Change password' page"})
        user.password_hash = hash_password(new_password)
        user.password_changed_at = utcnow()
        user.locked_until = None
        user.must_change_password = True
        if needs_approval(user.role):
            user.pending_approval = True
            user.pending_reason = "password reset"
            user.created_by_id = actor.user_id  # whoever set the password may not approve it
            user.approved_by_id = None
            user.approved_at = None
        ended = revoke_user_sessions(session, user.id, "password reset")
        record_event(
            session,
            actor,
            "reset_password",
            data_category="user",
            record_type="user",
            record_id=user.id,
            detail=f"{ended} session(s) ended" + ("; awaiting approval" if user.pending_approval else ""),
        )
        settle_submission(claim, record_type="user", record_id=user.id, outcome="Password reset.")
        return ended


def reset_authenticator(
    actor: Actor,
    user_id: int,
    reason: str,
    *,
    expected_version: int | None = None,
    submission: str | None = None,
    engine: Engine | None = None,
) -> int:
    """For a lost phone with no recovery code left: remove the user's TOTP enrolment and recovery codes and end
    their sessions; they enrol again at their next login. The account then waits for a second person's
    approval, as after a password reset (an administrator who also knew the password could otherwise log in)."""
    if not reason.strip():
        raise InvalidInput({"reason": "a reason is required"})
    with write_session(engine, actor=actor, capability="manage_users") as session:
        claim = claim_submission(session, actor, submission, "reset_authenticator")
        user = _target(session, actor, user_id, expected_version)
        if user.id == actor.user_id:
            raise InvalidInput({"user": "another administrator must reset your own authenticator"})
        if user.totp_enrolled_at is None:
            raise InvalidInput({"user": f"{user.username} has no authenticator enrolled"})
        now = utcnow()
        user.totp_secret = None
        user.totp_enrolled_at = None
        user.totp_last_step = None
        session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
            .values(used_at=now)
        )
        if needs_approval(user.role):
            user.pending_approval = True
            user.pending_reason = "authenticator reset"
            user.created_by_id = actor.user_id
            user.approved_by_id = None
            user.approved_at = None
        ended = revoke_user_sessions(session, user.id, "authenticator reset")
        record_event(
            session,
            actor,
            "reset_authenticator",
            data_category="security",
            record_type="user",
            record_id=user.id,
            detail=f"{reason.strip()[:400]}; {ended} session(s) ended"
            + ("; awaiting approval" if user.pending_approval else ""),
        )
        settle_submission(claim, record_type="user", record_id=user.id, outcome="Authenticator reset.")
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


def approve_account(
    actor: Actor,
    user_id: int,
    *,
    expected_version: int | None = None,
    submission: str | None = None,
    engine: Engine | None = None,
) -> str:
    """Let a pending account log in: only a supervisor or an administrator who did not create it (or set
    its password) may approve. Returns the approved user name."""
    authorize(actor, "approve_accounts", engine=engine)
    with write_session(engine, actor=actor, capability="approve_accounts") as session:
        claim = claim_submission(session, actor, submission, "approve_account")
        user = session.get(User, user_id)
        if user is None:
            raise InvalidInput({"user": "no such user"})
        if expected_version is not None and user.version != expected_version:
            raise EditConflict("This account was changed by someone else since you opened it. Nothing was saved.")
        if not user.pending_approval:
            raise InvalidInput({"user": f"{user.username} is not awaiting approval"})
        if actor.user_id in (user.created_by_id, user.id):
            # Raised as a denial so db.engine audits the refusal after rolling back (issue 14: audit every refusal).
            raise PermissionDenied(
                "A second person must approve this account: you created it or set its password.",
                actor=actor,
                capability="approve_accounts",
                detail=f"self-approval of user {user.id} refused",
            )
        user.pending_approval = False
        user.approved_by_id = actor.user_id
        user.approved_at = utcnow()
        record_event(
            session,
            actor,
            "approve_account",
            data_category="user",
            record_type="user",
            record_id=user.id,
            detail=f"{user.username} as {user.role} ({user.pending_reason or 'pending'})",
        )
        settle_submission(claim, record_type="user", record_id=user.id, outcome=f"Approved {user.username}.")
        return user.username
