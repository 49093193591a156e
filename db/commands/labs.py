"""Lab orders (automatic from the monitoring rules, or by hand) and lab results."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

import clinical
from db.audit import record_event
from db.commands import EditConflict, InvalidInput
from db.commands.flags import raise_flags
from db.commands.submissions import claim_submission, settle_submission
from db.engine import write_session
from db.models import LabOrder, LabResult, Patient
from db.permissions import Actor, require_patient
from db.queries.caseload import program_today
from db.summary import refresh_patient_summary


def order_labs(
    session: Session,
    actor: Actor | None,
    patient_id: int,
    labs: Iterable[clinical.LabDue],
    *,
    drug: str | None = None,
    prescription_id: int | None = None,
) -> list[LabOrder]:
    """Order each due lab unless the same test is already pending for the patient (caller's transaction)."""
    labs = list(labs)
    if not labs:
        return []
    pending = set(
        session.scalars(select(LabOrder.test).where(LabOrder.patient_id == patient_id, LabOrder.status == "pending"))
    )
    ordered: list[LabOrder] = []
    for lab in labs:
        if lab.test in pending:
            continue
        pending.add(lab.test)
        order = LabOrder(
            patient_id=patient_id,
            test=lab.test,
            loinc=lab.loinc,
            reason=lab.reason[:300],
            drug=drug,
            prescription_id=prescription_id,
            due_by=lab.due_by,
            status="pending",
            ordered_by_id=actor.user_id if actor else None,
        )
        session.add(order)
        ordered.append(order)
    session.flush()
    for order in ordered:
        record_event(
            session,
            actor,
            "order_lab",
            patient_id=patient_id,
            data_category="lab",
            record_type="lab_order",
            record_id=order.id,
            detail=f"{order.test} due {order.due_by}",
        )
    return ordered


@dataclass(frozen=True)
class LabResultInput:
    value: float
    unit: str
    collected_on: date
    ref_low: float | None = None
    ref_high: float | None = None


def enter_lab_result(
    actor: Actor,
    lab_order_id: int,
    result: LabResultInput,
    *,
    expected_version: int,
    submission: str | None = None,
    engine: Engine | None = None,
) -> LabResult:
    """Record a result for a pending order; an abnormal or critical value raises a flag in the same transaction."""
    errors: dict[str, str] = {}
    value = result.value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        errors["value"] = "must be a number"
    elif value < 0:
        errors["value"] = "cannot be negative"
    if not result.unit.strip() or len(result.unit) > 20:
        errors["unit"] = "is required (at most 20 characters)"
    if result.collected_on > program_today():
        errors["collected_on"] = "cannot be in the future"
    if result.ref_low is not None and result.ref_high is not None and result.ref_low > result.ref_high:
        errors["reference range"] = "low must not be above high"
    if errors:
        raise InvalidInput(errors)
    with write_session(engine) as session:
        order = session.get(LabOrder, lab_order_id)
        if order is None:
            raise InvalidInput({"lab order": "no such lab order"})
        require_patient(session, actor, order.patient_id, "enter_lab_result")
        claim = claim_submission(session, actor, submission, "enter_lab_result")
        if order.version != expected_version or order.status != "pending":
            raise EditConflict(
                f"This lab order is already {order.status} (changed by someone else). Nothing was saved."
            )
        neutropenia = bool(
            session.scalar(select(Patient.benign_ethnic_neutropenia).where(Patient.id == order.patient_id))
        )
        interpretation = clinical.classify_lab_result(
            order.test,
            float(value),
            ref_low=result.ref_low,
            ref_high=result.ref_high,
            benign_ethnic_neutropenia=neutropenia,
        )
        row = LabResult(
            lab_order_id=order.id,
            patient_id=order.patient_id,
            test=order.test,
            loinc=order.loinc,
            value=float(value),
            unit=result.unit.strip(),
            ref_low=result.ref_low,
            ref_high=result.ref_high,
            interpretation=interpretation.interpretation,
            is_abnormal=interpretation.abnormal,
            is_critical=interpretation.critical,
            collected_on=result.collected_on,
            entered_by_id=actor.user_id,
        )
        order.status = "resulted"
        session.add(row)
        try:
            session.flush()
        except StaleDataError as error:
            raise EditConflict(
                "This lab order was resulted by someone else a moment ago. Nothing was saved."
            ) from error
        finding = clinical.flag_for_lab_result(
            order.test,
            float(value),
            ref_low=result.ref_low,
            ref_high=result.ref_high,
            benign_ethnic_neutropenia=neutropenia,
        )
        if finding is not None:
            raise_flags(session, actor, order.patient_id, [finding], source_table="lab_results", source_id=row.id)
        refresh_patient_summary(session, order.patient_id)
        record_event(
            session,
            actor,
            "enter_lab_result",
            patient_id=order.patient_id,
            data_category="lab",
            record_type="lab_result",
            record_id=row.id,
            detail=f"{order.test} {value:g} {result.unit}",
        )
        settle_submission(
            claim,
            record_type="lab_result",
            record_id=row.id,
            outcome=f"{order.test} {value:g} {result.unit.strip()} ({interpretation.interpretation}).",
        )
        return row
