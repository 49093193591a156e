"""Emergency access ("break the glass") and amendments to recorded data."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select

from db.audit import record_event
from db.commands import InvalidInput
from db.commands.submissions import claim_submission, settle_submission
from db.engine import utcnow, write_session
from db.models import Amendment, Assessment, BreakGlassGrant, LabResult, Patient, Visit
from db.permissions import Actor, PermissionDenied, authorize
from db.settings import get_settings

MIN_REASON_LENGTH = 10
MAX_TEXT = 10_000


def break_glass(
    actor: Actor, mrn: str, reason: str, *, submission: str | None = None, engine: Engine | None = None
) -> BreakGlassGrant:
    """Open one chart (by MRN) outside the actor's caseload for a limited time; marked in the audit log."""
    authorize(actor, "break_glass", engine=engine)
    if not actor.may_break_glass:
        raise PermissionDenied(
            "Your account is not allowed emergency access.",
            actor=actor,
            capability="break_glass",
            detail=f"MRN {mrn[:20]}",
        )
    reason = reason.strip()
    if len(reason) < MIN_REASON_LENGTH or len(reason) > 2000:
        raise InvalidInput({"reason": f"state the emergency in {MIN_REASON_LENGTH} to 2000 characters"})
    minutes = get_settings().break_glass_minutes
    with write_session(engine, actor=actor, capability="break_glass") as session:
        patient_id = session.scalar(select(Patient.id).where(Patient.mrn == mrn.strip()))
        if patient_id is None:
            raise InvalidInput({"MRN": "no patient has this MRN"})
        claim = claim_submission(session, actor, submission, "break_glass")
        now = utcnow()
        grant = BreakGlassGrant(
            user_id=actor.user_id,
            granted_at=now,
            patient_id=patient_id,
            reason=reason,
            expires_at=now + timedelta(minutes=minutes),
        )
        session.add(grant)
        session.flush()
        record_event(
            session,
            actor,
            "break_glass",
            patient_id=patient_id,
            data_category="emergency_access",
            record_type="break_glass_grant",
            record_id=grant.id,
            detail=f"{minutes} min: {reason[:500]}",
        )
        settle_submission(
            claim, record_type="break_glass_grant", record_id=grant.id, outcome=f"Emergency access for {minutes} min."
        )
        return grant


# What may be amended, and how to find its patient: table -> (model, amendable fields).
AMENDABLE = {
    "assessments": (Assessment, {"total"}),
    "visits": (Visit, {"assessment_note", "plan_note"}),
    "lab_results": (LabResult, {"value"}),
}


def amend_record(
    actor: Actor,
    target_table: str,
    target_id: int,
    field: str,
    new_value: str,
    reason: str,
    *,
    submission: str | None = None,
    engine: Engine | None = None,
) -> Amendment:
    """Append a correction linked to the original row; the original stays as it was, visible in history."""
    from db.permissions import require_patient

    if target_table not in AMENDABLE or field not in AMENDABLE[target_table][1]:
        raise InvalidInput({"field": f"{target_table}.{field} cannot be amended"})
    if not reason.strip() or len(reason) > 2000:
        raise InvalidInput({"reason": "is required (at most 2000 characters)"})
    if len(new_value) > MAX_TEXT:
        raise InvalidInput({"new value": f"at most {MAX_TEXT} characters"})
    model, _ = AMENDABLE[target_table]
    with write_session(engine) as session:
        original = session.get(model, target_id)
        if original is None:
            raise InvalidInput({"record": "no such record"})
        require_patient(session, actor, original.patient_id, "amend_record")
        claim = claim_submission(session, actor, submission, "amend_record")
        if field in ("total", "value"):
            try:
                float(new_value)
            except ValueError as error:
                raise InvalidInput({"new value": "must be a number"}) from error
        amendment = Amendment(
            patient_id=original.patient_id,
            target_table=target_table,
            target_id=target_id,
            field=field,
            old_value=_text(getattr(original, field)),
            new_value=new_value,
            reason=reason.strip(),
            author_id=actor.user_id,
        )
        session.add(amendment)
        session.flush()
        record_event(
            session,
            actor,
            "amend_record",
            patient_id=original.patient_id,
            data_category="amendment",
            record_type=target_table,
            record_id=target_id,
            detail=f"{field}: {reason.strip()[:300]}",
        )
        settle_submission(
            claim, record_type="amendment", record_id=amendment.id, outcome=f"Amendment of {target_table} {field}."
        )
        return amendment


def _text(value: object) -> str | None:
    return None if value is None else str(value)
