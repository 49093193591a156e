"""Work queues: open flags for triage, pending labs and refill requests."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Engine, case, func, select
from sqlalchemy.orm import aliased

import clinical
from db.engine import read_session, utcnow
from db.models import (
    Assessment,
    Flag,
    LabOrder,
    Patient,
    Prescription,
    RefillRequest,
    User,
    Visit,
    current_assessment,
)
from db.permissions import Actor, authorize, caseload_scope
from db.queries.caseload import SEVERITY_NAMES, program_today
from db.settings import get_settings


def triage_queue(actor: Actor, *, include_resolved: bool = False, engine: Engine | None = None) -> pd.DataFrame:
    """Open flags of the actor's team (nurse) or caseload (prescriber): most urgent first; within a severity,
    flags waiting for a nurse (open, including one reopened by a new finding) before escalated and acknowledged
    ones; then oldest first. Age and the response target count from the newest finding."""
    authorize(actor, "triage_flag" if actor.role != "supervisor" else "view_triage", engine=engine)
    owner = aliased(User)
    last_finding = func.coalesce(Flag.last_finding_at, Flag.raised_at)
    waiting = case((Flag.state == "open", 0), (Flag.state == "escalated", 1), else_=2)
    statement = (
        select(
            Flag.id.label("flag_id"),
            Flag.version,
            Patient.id.label("patient_id"),
            Patient.mrn,
            (Patient.family_name + ", " + Patient.given_name).label("patient"),
            Flag.kind,
            Flag.severity,
            Flag.severity_rank,
            Flag.summary,
            Flag.state,
            Flag.raised_at,
            last_finding.label("last_finding_at"),
            Flag.finding_count,
            owner.full_name.label("owner"),
            Flag.owner_id,
        )
        .join(Patient, Patient.id == Flag.patient_id)
        .outerjoin(owner, owner.id == Flag.owner_id)
        .where(caseload_scope(actor))
        .order_by(Flag.severity_rank, waiting, last_finding)
    )
    if not include_resolved:
        statement = statement.where(Flag.state != "resolved")
    with read_session(engine) as session:
        table = pd.DataFrame(session.execute(statement).mappings().all())
    if table.empty:
        return table
    now = utcnow()
    targets = get_settings().flag_target_minutes
    table["age_minutes"] = ((now - table["last_finding_at"]).dt.total_seconds() // 60).astype(int)
    table["target_minutes"] = table["severity"].map(lambda severity: targets.get(severity, 7 * 24 * 60))
    table["overdue"] = (table["state"] == "open") & (table["age_minutes"] > table["target_minutes"])
    return table


def lab_queue(actor: Actor, *, today: date | None = None, engine: Engine | None = None) -> pd.DataFrame:
    """Pending lab orders in the actor's caseload or team, overdue first."""
    authorize(actor, "order_lab", engine=engine)
    today = today or program_today()
    statement = (
        select(
            LabOrder.id.label("lab_order_id"),
            LabOrder.version,
            Patient.mrn,
            (Patient.family_name + ", " + Patient.given_name).label("patient"),
            LabOrder.test,
            LabOrder.reason,
            LabOrder.drug,
            LabOrder.due_by,
            LabOrder.ordered_at,
        )
        .join(Patient, Patient.id == LabOrder.patient_id)
        .where(caseload_scope(actor), LabOrder.status == "pending")
        .order_by(LabOrder.due_by)
    )
    with read_session(engine) as session:
        table = pd.DataFrame(session.execute(statement).mappings().all())
    if not table.empty:
        table["overdue"] = table["due_by"] < today
    return table


def refill_queue(actor: Actor, *, today: date | None = None, engine: Engine | None = None) -> pd.DataFrame:
    """Pending and held refill requests with everything needed to decide each safely on one screen.

    A prescriber sees their own caseload's requests and a nurse her team's (``caseload_scope``: no emergency
    grants); deciding stays with the prescriber (``decide_refill``).

    Five queries whatever the queue length: the requests, then last visits, recent scores, open flags and
    pending labs for all their patients at once.
    """
    authorize(actor, "view_refills", engine=engine)
    today = today or program_today()
    statement = (
        select(
            RefillRequest.id.label("refill_id"),
            RefillRequest.version,
            Patient.id.label("patient_id"),
            Patient.mrn,
            (Patient.family_name + ", " + Patient.given_name).label("patient"),
            Patient.state_of_residence,
            Patient.next_visit_due,
            Prescription.drug,
            Prescription.dose,
            Prescription.unit,
            Prescription.frequency,
            Prescription.last_fill_date,
            RefillRequest.quantity,
            RefillRequest.days_supply,
            RefillRequest.requested_at,
            RefillRequest.source,
            RefillRequest.is_early,
            RefillRequest.status,
            RefillRequest.decision_reason,
        )
        .join(Patient, Patient.id == RefillRequest.patient_id)
        .join(Prescription, Prescription.id == RefillRequest.prescription_id)
        .where(caseload_scope(actor), RefillRequest.status.in_(("pending", "on_hold")))
        .order_by(RefillRequest.requested_at)
    )
    with read_session(engine) as session:
        table = pd.DataFrame(session.execute(statement).mappings().all())
        if table.empty:
            return table
        patient_ids = (
            select(RefillRequest.patient_id)
            .join(Patient, Patient.id == RefillRequest.patient_id)
            .where(caseload_scope(actor), RefillRequest.status.in_(("pending", "on_hold")))
            .scalar_subquery()
        )
        last_visits = dict(
            session.execute(
                select(Visit.patient_id, func.max(Visit.visit_at))
                .where(Visit.patient_id.in_(patient_ids))
                .group_by(Visit.patient_id)
            ).all()
        )
        newest = (
            func.row_number()
            .over(
                partition_by=(Assessment.patient_id, Assessment.instrument), order_by=Assessment.administered_at.desc()
            )
            .label("newest")
        )
        ranked = (
            select(Assessment.patient_id, Assessment.instrument, Assessment.total, newest)
            .where(
                Assessment.patient_id.in_(patient_ids),
                Assessment.instrument.in_(("PHQ-9", "GAD-7")),
                current_assessment(),
            )
            .subquery()
        )
        scores = session.execute(select(ranked).where(ranked.c.newest <= 2)).all()
        open_flags = dict(
            session.execute(
                select(Flag.patient_id, func.count())
                .where(Flag.patient_id.in_(patient_ids), Flag.state != "resolved")
                .group_by(Flag.patient_id)
            ).all()
        )
        labs = session.execute(
            select(LabOrder.patient_id, LabOrder.drug, LabOrder.test, LabOrder.due_by, LabOrder.reason).where(
                LabOrder.patient_id.in_(patient_ids), LabOrder.status == "pending"
            )
        ).all()
    score_text: dict[int, list[str]] = {}
    by_key: dict[tuple[int, str], list[int]] = {}
    for patient_id, instrument, total, _rank in sorted(scores, key=lambda row: (row[0], row[1], row[3])):
        by_key.setdefault((patient_id, instrument), []).append(total)
    for (patient_id, instrument), totals in by_key.items():
        trend = f" ({totals[0] - totals[1]:+d})" if len(totals) > 1 else ""
        score_text.setdefault(patient_id, []).append(f"{instrument} {totals[0]}{trend}")
    table["schedule"] = table["drug"].map(lambda drug: clinical.drug_schedule(drug) or "")
    table["last_visit"] = table["patient_id"].map(lambda pid: last_visits[pid].date() if pid in last_visits else None)
    table["scores"] = table["patient_id"].map(lambda pid: ", ".join(score_text.get(pid, [])))
    table["open_flags"] = table["patient_id"].map(lambda pid: open_flags.get(pid, 0))
    pending = [(pid, drug, test, due, reason) for pid, drug, test, due, reason in labs]
    table["labs_pending"] = table["patient_id"].map(
        lambda pid: "; ".join(f"{test} due {due}" for p, _, test, due, _ in pending if p == pid)
    )
    table["hold_reason"] = [
        "; ".join(
            f"{test} overdue since {due} ({reason})"
            for p, drug_of_lab, test, due, reason in pending
            if p == pid and drug_of_lab == drug and due < today
        )
        for pid, drug in zip(table["patient_id"], table["drug"], strict=True)
    ]
    return table


__all__ = ["SEVERITY_NAMES", "lab_queue", "refill_queue", "triage_queue"]
