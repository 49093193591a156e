"""Recording that data left the application (CSV downloads, FHIR exports): a disclosure is audited."""

from __future__ import annotations

from sqlalchemy import Engine

from db.audit import record_event
from db.engine import write_session
from db.permissions import Actor


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
    login session is checked again here (``write_session(actor=...)``), so a button left on a page after logout
    or deactivation discloses nothing; the refusal is audited as a denied export.
    """
    with write_session(engine, actor=actor, refused_as="export") as session:
        record_event(
            session,
            actor,
            "export",
            patient_id=patient_id,
            data_category="export",
            record_type=what,
            detail=f"{rows} rows" + (f"; {detail}" if detail else ""),
        )
