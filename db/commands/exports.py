"""Recording that data left the application (CSV downloads, FHIR exports): a disclosure is audited."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from db.audit import record_event
from db.engine import utcnow, write_session
from db.models import AuthSession, User
from db.permissions import Actor, PermissionDenied
from db.settings import get_settings


def _session_is_live(session: Session, actor: Actor) -> bool:
    """The actor's login session still stands: not revoked (logout, deactivation), not expired or idle."""
    now = utcnow()
    row = session.execute(
        select(AuthSession.revoked_at, AuthSession.expires_at, AuthSession.last_seen_at, User.is_active)
        .join(User, User.id == AuthSession.user_id)
        .where(AuthSession.id == actor.session_id, AuthSession.user_id == actor.user_id)
    ).first()
    if row is None:
        return False
    idle_limit = timedelta(minutes=get_settings().idle_timeout_minutes)
    return (
        row.revoked_at is None and bool(row.is_active) and now < row.expires_at and now - row.last_seen_at <= idle_limit
    )


def record_export(
    actor: Actor | None,
    what: str,
    *,
    rows: int,
    patient_id: int | None = None,
    detail: str | None = None,
    engine: Engine | None = None,
) -> None:
    """Audit one disclosure. ``actor`` None is the system (a command run by an operator on the server).

    A download's file is built when the browser asks for it, which can be after the page was drawn: the actor's
    login session is checked again here, so a button left on a page after logout or deactivation discloses
    nothing (the refusal is audited).
    """
    with write_session(engine, actor=actor) as session:
        if actor is not None and actor.session_id is not None and not _session_is_live(session, actor):
            raise PermissionDenied(
                "Your session has ended: log in again to download.",
                actor=actor,
                capability="export",
                patient_id=patient_id,
                detail=f"{what} after the session ended",
            )
        record_event(
            session,
            actor,
            "export",
            patient_id=patient_id,
            data_category="export",
            record_type=what,
            detail=f"{rows} rows" + (f"; {detail}" if detail else ""),
        )
