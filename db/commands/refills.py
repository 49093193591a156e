"""Refill decisions: approve (with an optional new quantity), deny, or hold — exactly one decision wins."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

import clinical
from db.audit import record_event
from db.commands import EditConflict, InvalidInput, SafetyBlock
from db.commands.flags import raise_flags
from db.commands.submissions import claim_submission, settle_submission
from db.engine import read_session, utcnow, write_session
from db.models import LabOrder, Patient, Prescription, PrescriptionFill, RefillRequest, User
from db.permissions import Actor, require_patient
from db.queries.caseload import program_today
from db.summary import refresh_patient_summary

DECISIONS = ("approve", "deny", "hold")
MAX_REASON_LENGTH = 2000


def overdue_required_labs(session: Session, patient_id: int, drug: str, today: date) -> list[LabOrder]:
    """Monitoring labs for this drug that are past due: they put its refill on hold."""
    return list(
        session.scalars(
            select(LabOrder).where(
                LabOrder.patient_id == patient_id,
                LabOrder.drug == drug,
                LabOrder.status == "pending",
                LabOrder.due_by < today,
            )
        )
    )


DECISION_OUTCOMES = {"approve": "approved", "deny": "denied", "hold": "put on hold"}


def decide_refill(
    actor: Actor,
    refill_id: int,
    decision: str,
    *,
    expected_version: int,
    reason: str = "",
    approved_quantity: int | None = None,
    pdmp_checked: bool = False,
    submission: str | None = None,
    engine: Engine | None = None,
) -> RefillRequest:
    """Decide a refill request. The UPDATE is conditional on the version the prescriber saw, so of two
    concurrent decisions exactly one is recorded; the other is told who decided and when."""
    if decision not in DECISIONS:
        raise InvalidInput({"decision": f"must be one of {', '.join(DECISIONS)}"})
    reason = (reason or "").strip()
    if decision in ("deny", "hold") and not reason:
        raise InvalidInput({"reason": f"a reason is required to {decision} a refill"})
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput({"reason": f"at most {MAX_REASON_LENGTH} characters (got {len(reason)})"})
    if approved_quantity is not None and (isinstance(approved_quantity, bool) or not 1 <= approved_quantity <= 1000):
        raise InvalidInput({"quantity": "must be a whole number from 1 to 1000"})
    now = utcnow()
    today = program_today()
    with write_session(engine) as session:
        refill = session.get(RefillRequest, refill_id)
        if refill is None:
            raise InvalidInput({"refill": "no such refill request"})
        patient = require_patient(session, actor, refill.patient_id, "decide_refill")
        claim = claim_submission(session, actor, submission, "decide_refill")
        if refill.version != expected_version or refill.status not in ("pending", "on_hold"):
            raise EditConflict(_decided_message(session, refill))
        if decision == "hold" and refill.status == "on_hold":
            raise InvalidInput({"decision": "this request is already on hold; approve or deny it"})
        prescription = session.get(Prescription, refill.prescription_id)
        assert prescription is not None
        if decision == "approve":
            _check_approvable(session, actor, patient, prescription, today, pdmp_checked)
        status = {"approve": "approved", "deny": "denied", "hold": "on_hold"}[decision]
        quantity = approved_quantity if approved_quantity is not None else refill.quantity
        result = session.execute(
            update(RefillRequest)
            .where(RefillRequest.id == refill_id, RefillRequest.version == expected_version)
            .values(
                status=status,
                decision_reason=reason or None,
                decided_by_id=actor.user_id,
                decided_at=now,
                approved_quantity=quantity if decision == "approve" else None,
                pdmp_checked=pdmp_checked if clinical.drug_schedule(prescription.drug) else None,
                version=expected_version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            session.rollback()
            with read_session(engine) as fresh:
                current = fresh.get(RefillRequest, refill_id)
                raise EditConflict(_decided_message(fresh, current))
        if decision == "approve":
            session.add(
                PrescriptionFill(
                    prescription_id=prescription.id,
                    refill_request_id=refill.id,
                    filled_on=today,
                    quantity=quantity,
                    days_supply=refill.days_supply,
                )
            )
            prescription.last_fill_date = today
        refresh_patient_summary(session, patient.id)
        record_event(
            session,
            actor,
            f"refill_{decision}",
            patient_id=patient.id,
            data_category="refill",
            record_type="refill_request",
            record_id=refill.id,
            detail=f"{prescription.drug} qty {quantity}" + (f": {reason}" if reason else ""),
        )
        settle_submission(
            claim,
            record_type="refill_request",
            record_id=refill.id,
            outcome=f"Refill of {prescription.drug}: {DECISION_OUTCOMES[decision]}.",
        )
        session.flush()
        session.refresh(refill)
        return refill


def _check_approvable(
    session: Session, actor: Actor, patient: Patient, prescription: Prescription, today: date, pdmp_checked: bool
) -> None:
    problems = []
    overdue = overdue_required_labs(session, patient.id, prescription.drug, today)
    for lab in overdue:
        problems.append(f"On hold: {lab.test} was due {lab.due_by} ({lab.reason}); the refill waits for the result.")
    if clinical.drug_schedule(prescription.drug):
        if patient.state_of_residence not in actor.licensed_states:
            problems.append(f"You are not licensed in {patient.state_of_residence}, the patient's state.")
        if not pdmp_checked:
            problems.append("Attest the prescription-monitoring-program (PDMP) check for a controlled substance.")
    if problems:
        raise SafetyBlock(problems)


def _decided_message(session: Session, refill: RefillRequest | None) -> str:
    if refill is None:
        return "This refill request no longer exists."
    who = (
        session.scalar(select(User.full_name).where(User.id == refill.decided_by_id)) if refill.decided_by_id else None
    )
    when = refill.decided_at.strftime("%Y-%m-%d %H:%M UTC") if refill.decided_at else "just now"
    state = refill.status.replace("_", " ")
    return f"{who or 'Someone'} already decided this refill ({state}) at {when}. Nothing was saved."


def record_refill_request(
    actor: Actor,
    prescription_id: int,
    *,
    quantity: int,
    days_supply: int,
    source: str = "pharmacy",
    engine: Engine | None = None,
) -> RefillRequest:
    """Record a refill request (from the patient or the pharmacy); an early request for a controlled
    substance raises a flag in the same transaction."""
    if source not in ("patient", "pharmacy"):
        raise InvalidInput({"source": "must be patient or pharmacy"})
    for name, value, upper in (("quantity", quantity, 1000), ("days supply", days_supply, 90)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= upper:
            raise InvalidInput({name: f"must be a whole number from 1 to {upper}"})
    now = utcnow()
    today = program_today()
    with write_session(engine) as session:
        prescription = session.get(Prescription, prescription_id)
        if prescription is None or prescription.status != "active":
            raise InvalidInput({"prescription": "no active prescription with this id"})
        require_patient(session, actor, prescription.patient_id, "triage_flag")
        early = prescription.last_fill_date is not None and clinical.refill_is_early(
            prescription.last_fill_date, prescription.days_supply or days_supply, today
        )
        request = RefillRequest(
            patient_id=prescription.patient_id,
            prescription_id=prescription.id,
            requested_at=now,
            source=source,
            quantity=quantity,
            days_supply=days_supply,
            is_early=early,
        )
        session.add(request)
        session.flush()
        finding = clinical.flag_for_refill_request(
            prescription.drug,
            last_fill=prescription.last_fill_date,
            days_supply=prescription.days_supply or days_supply,
            requested_on=today,
        )
        if finding is not None:
            raise_flags(
                session, actor, prescription.patient_id, [finding], source_table="refill_requests", source_id=request.id
            )
        refresh_patient_summary(session, prescription.patient_id)
        record_event(
            session,
            actor,
            "refill_requested",
            patient_id=prescription.patient_id,
            data_category="refill",
            record_type="refill_request",
            record_id=request.id,
            detail=f"{prescription.drug} qty {quantity}" + (" (early)" if early else ""),
        )
        return request
