"""Authorization, in one place: which patients a user may see and what each role may do.

Every query and command in ``db/`` calls this module; pages never decide access themselves. The actor
is always rebuilt from the database for each request (``db.auth.resolve_session``), never taken from
query parameters or session state.

- prescriber: their own caseload; prescribes, logs visits, decides refills.
- nurse: the patients of their team; triages flags, enters lab results, orders labs, reads (never decides)
  their team's refill requests.
- supervisor: every patient, read-mostly; reassigns caseloads, reads the audit trail.
- admin: users and accounts, not charts.
- approve_accounts (admin, supervisor): the second person who lets a new or reset clinical account log in.
Any clinical user granted emergency ("break the glass") access to a chart may read it until the grant ends.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Engine, Select, and_, bindparam, exists, false, or_, select, true
from sqlalchemy.orm import Session

from db.audit import record_event
from db.engine import read_session, serialize_writes_on, utcnow, write_session
from db.models import AuthSession, BreakGlassGrant, Patient, User
from db.settings import get_settings

# What each role may do. Viewing a chart is checked separately per patient by patient_scope().
CAPABILITIES: Final[dict[str, frozenset[str]]] = {
    "prescriber": frozenset(
        {
            "view_chart",
            "log_visit",
            "prescribe",
            "record_outside_medication",
            "update_clinical_status",
            "decide_refill",
            "view_refills",
            "triage_flag",
            "order_lab",
            "enter_lab_result",
            "amend_record",
            "break_glass",
            "view_caseload",
            "export_chart",
            "import_self_reports",
            "send_checkin_link",
        }
    ),
    "nurse": frozenset(
        {
            "view_chart",
            "record_outside_medication",
            "update_clinical_status",
            "triage_flag",
            "order_lab",
            "enter_lab_result",
            "amend_record",
            "break_glass",
            "view_triage",
            "view_refills",
            "import_self_reports",
            "export_chart",
            "send_checkin_link",
        }
    ),
    "supervisor": frozenset(
        {
            "view_chart",
            "view_caseload",
            "view_triage",
            "view_program",
            "reassign",
            "view_audit",
            "break_glass",
            "export_chart",
            "approve_accounts",
        }
    ),
    "admin": frozenset({"manage_users", "approve_accounts", "view_audit", "import_self_reports", "import_patients"}),
}


class PermissionDenied(Exception):
    """The actor may not do this; the message is safe to show the user.

    ``db.engine``'s session helpers audit the refusal in a fresh transaction after rolling back the
    request's own, so the record of the attempt survives although the request fails.
    """

    def __init__(
        self,
        message: str,
        *,
        actor: Actor | None = None,
        capability: str | None = None,
        patient_id: int | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.actor = actor
        self.capability = capability
        self.patient_id = patient_id
        self.detail = detail


@dataclass(frozen=True)
class Actor:
    """The logged-in user, as the database says they are right now."""

    user_id: int
    username: str
    full_name: str
    role: str
    team_id: int | None = None
    licensed_states: tuple[str, ...] = field(default_factory=tuple)
    may_break_glass: bool = False
    session_id: str | None = None
    # Account gates (components/account.py): until the user changed an admin-set password, or enrolled the
    # second factor their role requires, they see only the page that does it.
    must_change_password: bool = False
    mfa_enrolled: bool = False

    def can(self, capability: str) -> bool:
        return capability in CAPABILITIES.get(self.role, frozenset())


def require(actor: Actor, capability: str) -> None:
    """Raise PermissionDenied unless the actor's role has ``capability``.

    Call it inside ``read_session``/``write_session`` (whose handlers audit the refusal) or use ``authorize``;
    tests/db/test_security.py keeps every call in db/ inside one.
    """
    if not actor.can(capability):
        raise PermissionDenied(
            f"Your role ({actor.role}) is not permitted to {capability.replace('_', ' ')}.",
            actor=actor,
            capability=capability,
        )


def authorize(actor: Actor, capability: str, *, engine: Engine | None = None) -> None:
    """``require`` for a check made before any transaction is open: a refusal is audited all the same.

    No statement is run when the actor may (the session never takes a connection)."""
    with read_session(engine):
        require(actor, capability)


SESSION_ENDED_MESSAGE = "Your session has ended (logged out, timed out or account deactivated); nothing was saved."


def session_end_reason(
    *, is_active: bool, revoked_at: datetime | None, expires_at: datetime, last_seen_at: datetime, now: datetime
) -> str | None:
    """Why a login session no longer counts (None: it is live). One rule for the UI and the write commands."""
    if not is_active:
        return "user deactivated"
    if revoked_at is not None:
        return "session revoked"
    if now >= expires_at:
        return "session lifetime reached"
    if now - last_seen_at > timedelta(minutes=get_settings().idle_timeout_minutes):
        return "idle timeout"
    return None


# Built once (checked in every write transaction).
_LIVE_SESSION = (
    select(User.is_active, AuthSession.revoked_at, AuthSession.expires_at, AuthSession.last_seen_at)
    .join(AuthSession, AuthSession.user_id == User.id)
    .where(AuthSession.id == bindparam("session_id"), User.id == bindparam("user_id"))
)
_USER_ACTIVE = select(User.is_active).where(User.id == bindparam("user_id"))


def require_live_actor(session: Session, actor: Actor, capability: str | None = None) -> None:
    """Refuse (PermissionDenied, audited) unless the actor's account is active and, for an actor who logged in
    (``session_id``), the login session is neither revoked nor past its idle or absolute timeout.

    Read in the caller's write transaction, so no page that kept an old ``Actor`` (an open tab, a fragment that
    reran alone) can write for a session that ended. One SELECT per transaction; actors without a login session
    (the seed, command-line tools) are checked only for being active."""
    checked = session.info.setdefault("live_actors", set())
    if (actor.user_id, actor.session_id) in checked:
        return
    now = utcnow()
    reason: str | None
    if actor.session_id:
        row = session.execute(_LIVE_SESSION, {"session_id": actor.session_id, "user_id": actor.user_id}).first()
        reason = "no such session" if row is None else session_end_reason(
            is_active=row.is_active,
            revoked_at=row.revoked_at,
            expires_at=row.expires_at,
            last_seen_at=row.last_seen_at,
            now=now,
        )
    else:
        is_active = session.scalar(_USER_ACTIVE, {"user_id": actor.user_id})
        reason = None if is_active else "user deactivated or unknown"
    if reason is not None:
        raise PermissionDenied(
            SESSION_ENDED_MESSAGE,
            actor=actor,
            capability=capability or "write",
            detail=f"session ended: {reason}",
        )
    checked.add((actor.user_id, actor.session_id))


def _role_scope(actor: Actor) -> ColumnElement[bool]:
    return _role_condition(actor.role, actor.user_id, actor.team_id)


def _role_condition(role: str, user_id: Any, team_id: Any) -> ColumnElement[bool]:
    """The role's own patients; ``user_id`` and ``team_id`` are values or bound parameters."""
    if role == "prescriber":
        return Patient.prescriber_id == user_id
    if role == "nurse":
        return Patient.team_id == team_id if team_id is not None else false()
    if role == "supervisor":
        return true()
    return false()


# What a read-only emergency grant allows: reading the chart. Anything else (writes, exports, imports) needs a
# grant whose reason category allows care actions (db.commands.access.EMERGENCY_REASONS).
READ_ONLY_GRANT_CAPABILITIES: Final[frozenset[str]] = frozenset({"view_chart"})


def patient_scope(
    actor: Actor, *, now: datetime | None = None, include_break_glass: bool = True, capability: str | None = None
) -> ColumnElement[bool]:
    """A SQL condition on ``Patient`` that is true exactly for the patients the actor may see (``capability``
    None or ``view_chart``) or may act for (any other capability: only grants that allow care actions count)."""
    return _scope_condition(
        actor.role,
        actor.user_id,
        actor.team_id,
        now or utcnow(),
        include_break_glass=include_break_glass,
        care_only=capability is not None and capability not in READ_ONLY_GRANT_CAPABILITIES,
    )


def _scope_condition(
    role: str, user_id: Any, team_id: Any, now: Any, *, include_break_glass: bool, care_only: bool
) -> ColumnElement[bool]:
    scope = _role_condition(role, user_id, team_id)
    if not include_break_glass or role == "admin":
        return scope
    conditions = [
        BreakGlassGrant.patient_id == Patient.id,
        BreakGlassGrant.user_id == user_id,
        BreakGlassGrant.expires_at > now,
    ]
    if care_only:
        conditions.append(BreakGlassGrant.allows_care.is_(True))
    return or_(scope, exists().where(and_(*conditions)))


@functools.cache
def _patient_in_scope(role: str, has_team: bool, care_only: bool) -> Select[tuple[Patient]]:
    """``require_patient``'s statement, built once per shape (parameters ``patient_id``, ``actor_user_id``,
    ``actor_team_id``, ``now``): building it per write cost more CPU than running it."""
    scope = _scope_condition(
        role,
        bindparam("actor_user_id"),
        bindparam("actor_team_id") if has_team else None,
        bindparam("now"),
        include_break_glass=True,
        care_only=care_only,
    )
    return select(Patient).where(Patient.id == bindparam("patient_id"), scope)


def caseload_scope(actor: Actor) -> ColumnElement[bool]:
    """The actor's own caseload or team (no emergency grants): what lists and queues show."""
    return _role_scope(actor)


def can_view_patient(session: Session, actor: Actor, patient_id: int) -> bool:
    if not actor.can("view_chart"):
        return False
    return bool(session.scalar(select(Patient.id).where(Patient.id == patient_id, patient_scope(actor))))


def record_denial(engine: Engine, denial: PermissionDenied) -> None:
    """Audit a refused attempt in its own transaction (called by the session helpers in db.engine)."""
    if denial.actor is None:
        return
    with write_session(engine, audit_denials=False) as session:
        patient_id = denial.patient_id
        if patient_id is not None and session.get(Patient, patient_id) is None:
            patient_id = None  # the audit row references the patient only if it exists (foreign key)
        record_event(
            session,
            denial.actor,
            denial.capability or "access",
            outcome="denied",
            patient_id=patient_id,
            data_category="access",
            detail=denial.detail,
        )


def require_patient(
    session: Session, actor: Actor, patient_id: int, capability: str, *, serialize: bool = True
) -> Patient:
    """Return the patient if the actor may do ``capability`` for them; otherwise audit and raise.

    The same message is given for a patient who does not exist and one the actor may not see, so the
    answer reveals nothing about other caseloads. ``serialize=False`` is for a write transaction that only
    reads the patient and appends an audit event (opening a chart): it checks nothing a concurrent write could
    make untrue, so it need not queue behind the patient's writes.
    """
    if session.info.get("write_transaction"):
        require_live_actor(session, actor, capability)
        if serialize:
            # Writes about one patient queue here (writes about different patients do not): what this write
            # checks next (the record's version, current medications, open flags) stays true until it commits.
            serialize_writes_on(session, "patient", patient_id)
    patient = None
    if actor.can(capability):
        statement = _patient_in_scope(
            actor.role, actor.team_id is not None, capability not in READ_ONLY_GRANT_CAPABILITIES
        )
        patient = session.scalar(
            statement,
            {"patient_id": patient_id, "actor_user_id": actor.user_id, "actor_team_id": actor.team_id, "now": utcnow()},
        )
    if patient is None:
        raise PermissionDenied(
            "Not permitted: this patient is not in your caseload, or the action is not allowed for your role.",
            actor=actor,
            capability=capability,
            patient_id=patient_id,
            detail=f"patient id {patient_id}",
        )
    return patient


def import_scope(actor: Actor) -> ColumnElement[bool]:
    """The patients whose self-reports the actor may import (``import_self_reports``): the patients they may
    see, or the whole program for an admin, who loads the portal's feed without ever opening a chart."""
    if not actor.can("import_self_reports"):
        return false()
    return true() if actor.role == "admin" else patient_scope(actor, capability="import_self_reports")
