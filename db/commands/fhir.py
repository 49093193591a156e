"""FHIR R4 writes: auditing a bulk export, importing self-reported PHQ-9/GAD-7, onboarding a patient."""

from __future__ import annotations

from sqlalchemy import Engine

from db.audit import record_event
from db.engine import write_session
from db.permissions import Actor


def record_bulk_export(
    actor: Actor | None, counts: dict[str, int], *, patients: int, engine: Engine | None = None
) -> None:
    """Audit a bulk NDJSON export (``actor`` None: the system, run by an operator on the server)."""
    with write_session(engine) as session:
        record_event(
            session,
            actor,
            "export",
            data_category="export",
            record_type="fhir_bulk_ndjson",
            detail=f"{patients} patients; " + ", ".join(f"{name} {count}" for name, count in counts.items() if count),
        )
