"""Emergency access ("break the glass") and amendments to recorded data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import clinical
from db.audit import record_event
from db.commands import InvalidInput
from db.commands.flags import raise_flags
from db.commands.submissions import claim_submission, settle_submission
from db.engine import utcnow, write_session
from db.models import Amendment, Assessment, AuditEvent, BreakGlassGrant, LabResult, Patient, Visit
from db.permissions import Actor, PermissionDenied, authorize
from db.settings import get_settings
from db.summary import refresh_patient_summary

MIN_REASON_LENGTH = 20
MAX_TEXT = 10_000


@dataclass(frozen=True)
class EmergencyReason:
    label: str
    allows_care: bool  # True: the grant allows writes (visits, prescriptions...); False: read the chart only


# Emergency access is read-only unless the emergency needs the clinician to act on the chart now.
EMERGENCY_REASONS: dict[str, EmergencyReason] = {
    "imminent_risk": EmergencyReason("Imminent risk: patient in crisis now", allows_care=True),
    "urgent_medication_safety": EmergencyReason(
        "Urgent medication safety: suspected toxicity or severe reaction now", allows_care=True
    ),
    "covering_review": EmergencyReason("Covering clinician: records review", allows_care=False),
    "outside_request": EmergencyReason("Urgent request from an outside clinician: records review", allows_care=False),
}
# The same words for an MRN that does not exist and for one refused by policy: the answer reveals nothing about
# which MRNs exist (only a real grant does, and each grant is capped, audited and reported to the care team).
NOT_GRANTED = (
    "Emergency access was not granted for this MRN. The attempt is in the audit log and supervisors review it; "
    "check the MRN, or call the patient's care team."
)


def _reason_problem(reason: str) -> str | None:
    """Why a justification is too thin to audit ("xxxxxxxxxx" said nothing), or None."""
    words = re.findall(r"[^\W\d_]{2,}", reason)
    if len(reason) < MIN_REASON_LENGTH or len(reason) > 2000:
        return f"describe the emergency in {MIN_REASON_LENGTH} to 2000 characters"
    if len(words) < 4 or len({word.lower() for word in words}) < 3:
        return "describe the emergency in words: who, what is happening, what you need from the chart"
    return None


def emergency_attempts_today(session: Session, actor: Actor, now: datetime) -> int:
    """Emergency-access attempts (granted or refused) by the actor in the last 24 hours, from the audit log."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.user_id == actor.user_id,
                AuditEvent.action == "break_glass",
                AuditEvent.at > now - timedelta(hours=24),
            )
        )
        or 0
    )


def break_glass(
    actor: Actor,
    mrn: str,
    category: str,
    reason: str,
    *,
    submission: str | None = None,
    engine: Engine | None = None,
) -> BreakGlassGrant:
    """Open one chart (by MRN) outside the actor's caseload for a limited time; read-only unless the reason
    category allows care actions. Capped per user per 24 hours, marked in the audit log, and flagged to the
    patient's care team and the supervisors."""
    authorize(actor, "break_glass", engine=engine)
    if not actor.may_break_glass:
        raise PermissionDenied(
            "Your account is not allowed emergency access.",
            actor=actor,
            capability="break_glass",
            detail=f"MRN {mrn[:20]}",
        )
    errors: dict[str, str] = {}
    if category not in EMERGENCY_REASONS:
        errors["reason category"] = "choose the kind of emergency"
    reason = reason.strip()
    problem = _reason_problem(reason)
    if problem:
        errors["reason"] = problem
    if errors:
        raise InvalidInput(errors)
    emergency = EMERGENCY_REASONS[category]
    settings = get_settings()
    with write_session(engine, actor=actor, capability="break_glass") as session:
        now = utcnow()
        # Counted inside the write transaction (which holds the write lock), so concurrent attempts cannot
        # exceed the cap; refused attempts count too, so the cap also limits guessing MRNs.
        if emergency_attempts_today(session, actor, now) >= settings.break_glass_max_per_day:
            raise PermissionDenied(
                f"Emergency access was not granted: you reached the limit of {settings.break_glass_max_per_day} "
                "emergency accesses in 24 hours. Call a supervisor.",
                actor=actor,
                capability="break_glass",
                detail=f"cap of {settings.break_glass_max_per_day} per 24 h reached; MRN {mrn[:20]!r}",
            )
        patient = session.scalar(select(Patient).where(Patient.mrn == mrn.strip()))
        if patient is None:
            raise PermissionDenied(
                NOT_GRANTED, actor=actor, capability="break_glass", detail=f"unknown MRN {mrn[:20]!r}: {category}"
            )
        claim = claim_submission(session, actor, submission, "break_glass")
        minutes = settings.break_glass_minutes
        grant = BreakGlassGrant(
            user_id=actor.user_id,
            granted_at=now,
            patient_id=patient.id,
            reason=reason,
            category=category,
            allows_care=emergency.allows_care,
            expires_at=now + timedelta(minutes=minutes),
        )
        session.add(grant)
        session.flush()
        scope = "care actions allowed" if emergency.allows_care else "read-only"
        record_event(
            session,
            actor,
            "break_glass",
            patient_id=patient.id,
            data_category="emergency_access",
            record_type="break_glass_grant",
            record_id=grant.id,
            detail=f"{minutes} min, {scope}, {category}: {reason[:500]}",
        )
        # The care team's and supervisors' queues: a flag on the patient, reviewed like any other finding.
        raise_flags(
            session,
            actor,
            patient.id,
            [
                clinical.flag_for_emergency_access(
                    grant.id, f"{actor.full_name} ({actor.role})", emergency.label, care_actions=emergency.allows_care
                )
            ],
            source_table="break_glass_grants",
            source_id=grant.id,
        )
        refresh_patient_summary(session, patient.id)
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
