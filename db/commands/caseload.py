"""Caseload management: reassigning patients between prescribers or nurses."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from db.audit import record_event
from db.commands import InvalidInput
from db.commands.submissions import claim_submission, settle_submission
from db.engine import write_session
from db.models import Patient, User
from db.permissions import Actor, authorize
from db.summary import refresh_patient_summary

MAX_REASON_LENGTH = 2000


@dataclass(frozen=True)
class ReassignmentResult:
    moved: int
    caseload_before: dict[str, int]
    caseload_after: dict[str, int]


def _sizes(session, user_ids: set[int], column) -> dict[int, int]:  # type: ignore[no-untyped-def]
    rows = session.execute(
        select(column, func.count()).where(column.in_(user_ids), Patient.program_phase != "discharged").group_by(column)
    ).all()
    return {user_id: count for user_id, count in rows}


def reassign_patients(
    actor: Actor,
    patient_ids: list[int],
    *,
    prescriber_id: int | None = None,
    nurse_id: int | None = None,
    reason: str,
    submission: str | None = None,
    engine: Engine | None = None,
) -> ReassignmentResult:
    """Move patients to another prescriber and/or nurse. A prescriber must be licensed in each patient's
    state; a nurse brings the patient into the nurse's team. One transaction, one audit event per patient."""
    authorize(actor, "reassign", engine=engine)
    if not patient_ids:
        raise InvalidInput({"patients": "choose at least one patient"})
    if prescriber_id is None and nurse_id is None:
        raise InvalidInput({"assignee": "choose a prescriber or a nurse"})
    if not reason.strip() or len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput({"reason": f"is required (at most {MAX_REASON_LENGTH} characters)"})
    with write_session(engine, actor=actor, capability="reassign") as session:
        claim = claim_submission(session, actor, submission, "reassign")
        prescriber = session.get(User, prescriber_id) if prescriber_id is not None else None
        nurse = session.get(User, nurse_id) if nurse_id is not None else None
        if prescriber_id is not None and (
            prescriber is None or prescriber.role != "prescriber" or not prescriber.is_active
        ):
            raise InvalidInput({"prescriber": "not an active prescriber"})
        if nurse_id is not None and (nurse is None or nurse.role != "nurse" or not nurse.is_active):
            raise InvalidInput({"nurse": "not an active nurse"})
        patients = list(session.scalars(select(Patient).where(Patient.id.in_(patient_ids))))
        if len(patients) != len(set(patient_ids)):
            raise InvalidInput({"patients": "some patients do not exist"})
        if prescriber is not None:
            unlicensed = sorted({p.state_of_residence for p in patients} - set(prescriber.licensed_states or []))
            if unlicensed:
                raise InvalidInput({"prescriber": f"{prescriber.full_name} is not licensed in {', '.join(unlicensed)}"})
        column = Patient.prescriber_id if prescriber is not None else Patient.nurse_id
        target = prescriber or nurse
        assert target is not None
        affected = {target.id} | {getattr(p, column.key) for p in patients if getattr(p, column.key) is not None}
        before = _sizes(session, affected, column)
        for patient in patients:
            old_prescriber, old_nurse = patient.prescriber_id, patient.nurse_id
            if prescriber is not None:
                patient.prescriber_id = prescriber.id
            if nurse is not None:
                patient.nurse_id = nurse.id
                patient.team_id = nurse.team_id
            session.flush()
            record_event(
                session,
                actor,
                "reassign_patient",
                patient_id=patient.id,
                data_category="caseload",
                record_type="patient",
                record_id=patient.id,
                detail=f"prescriber {old_prescriber}->{patient.prescriber_id}, nurse {old_nurse}->"
                f"{patient.nurse_id}: {reason.strip()[:500]}",
            )
        refresh_patient_summary(session, [patient.id for patient in patients])
        after = _sizes(session, affected, column)
        names = dict(session.execute(select(User.id, User.full_name).where(User.id.in_(affected))).all())
        settle_submission(
            claim,
            record_type="patient",
            record_id=None,
            outcome=f"Moved {len(patients)} patient(s) to {target.full_name}.",
        )
        return ReassignmentResult(
            moved=len(patients),
            caseload_before={names[uid]: before.get(uid, 0) for uid in affected},
            caseload_after={names[uid]: after.get(uid, 0) for uid in affected},
        )
