"""Everything the patient chart shows besides its header, read in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import aliased

from db.engine import read_session
from db.models import (
    Amendment,
    Assessment,
    DoseChange,
    Flag,
    LabOrder,
    LabResult,
    Prescription,
    RefillRequest,
    SideEffectReport,
    User,
    Visit,
    current_assessment,
)
from db.permissions import Actor, require_patient
from db.queries.caseload import program_today


@dataclass(frozen=True)
class ChartData:
    assessments: pd.DataFrame
    dose_changes: pd.DataFrame
    prescriptions: pd.DataFrame
    side_effects: pd.DataFrame
    lab_orders: pd.DataFrame
    lab_results: pd.DataFrame
    refills: pd.DataFrame
    visits: pd.DataFrame
    flags: pd.DataFrame
    amendments: pd.DataFrame


def _frame(session, statement: Select) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    result = session.execute(statement)
    # From the rows as tuples: building from one mapping per row made pandas match every row's keys.
    return pd.DataFrame.from_records([tuple(row) for row in result], columns=list(result.keys()))


def chart_data(actor: Actor, patient_id: int, *, today: date | None = None, engine: Engine | None = None) -> ChartData:
    """The chart's clinical sections for one patient the actor may see (the header read audits the access)."""
    today = today or program_today()
    author = aliased(User)
    with read_session(engine) as session:
        require_patient(session, actor, patient_id, "view_chart")
        assessments = _frame(
            session,
            select(
                Assessment.id,
                Assessment.instrument,
                Assessment.total,
                Assessment.severity,
                Assessment.administered_at,
                Assessment.source,
                Assessment.answers,
            )
            .where(Assessment.patient_id == patient_id, current_assessment())  # a correction replaces its original
            .order_by(Assessment.administered_at),
        )
        dose_changes = _frame(
            session,
            select(
                DoseChange.id,
                DoseChange.prescription_id,
                DoseChange.changed_at,
                DoseChange.change_type,
                DoseChange.drug,
                DoseChange.old_dose,
                DoseChange.new_dose,
                DoseChange.unit,
                DoseChange.old_frequency,
                DoseChange.new_frequency,
                DoseChange.old_daily_mg,
                DoseChange.new_daily_mg,
                DoseChange.reason,
                DoseChange.override_reason,
                author.full_name.label("author"),
            )
            .outerjoin(author, author.id == DoseChange.author_id)
            .where(DoseChange.patient_id == patient_id)
            .order_by(DoseChange.changed_at, DoseChange.id),
        )
        prescriptions = _frame(
            session,
            select(
                Prescription.id,
                Prescription.drug,
                Prescription.dose,
                Prescription.unit,
                Prescription.frequency,
                Prescription.route,
                Prescription.daily_dose_mg,
                Prescription.status,
                Prescription.start_date,
                Prescription.stop_date,
                Prescription.stop_reason,
                Prescription.is_psychiatric,
                Prescription.source,
                Prescription.quantity,
                Prescription.days_supply,
                Prescription.last_fill_date,
                Prescription.version,
            )
            .where(Prescription.patient_id == patient_id)
            .order_by(Prescription.status, Prescription.drug),
        )
        side_effects = _frame(
            session,
            select(
                SideEffectReport.id,
                SideEffectReport.reported_at,
                SideEffectReport.drug,
                SideEffectReport.symptom,
                SideEffectReport.severity,
                SideEffectReport.source,
                SideEffectReport.note,
            )
            .where(SideEffectReport.patient_id == patient_id)
            .order_by(SideEffectReport.reported_at),
        )
        lab_orders = _frame(
            session,
            select(
                LabOrder.id,
                LabOrder.test,
                LabOrder.reason,
                LabOrder.drug,
                LabOrder.ordered_at,
                LabOrder.due_by,
                LabOrder.status,
                LabOrder.version,
            )
            .where(LabOrder.patient_id == patient_id, LabOrder.status == "pending")
            .order_by(LabOrder.due_by),
        )
        lab_results = _frame(
            session,
            select(
                LabResult.id,
                LabResult.test,
                LabResult.value,
                LabResult.unit,
                LabResult.ref_low,
                LabResult.ref_high,
                LabResult.interpretation,
                LabResult.is_abnormal,
                LabResult.is_critical,
                LabResult.collected_on,
            )
            .where(LabResult.patient_id == patient_id)
            .order_by(LabResult.collected_on, LabResult.id),
        )
        refills = _frame(
            session,
            select(
                RefillRequest.id,
                Prescription.drug,
                RefillRequest.requested_at,
                RefillRequest.quantity,
                RefillRequest.days_supply,
                RefillRequest.is_early,
                RefillRequest.status,
                RefillRequest.decision_reason,
                RefillRequest.decided_at,
            )
            .join(Prescription, Prescription.id == RefillRequest.prescription_id)
            .where(RefillRequest.patient_id == patient_id)
            .order_by(RefillRequest.requested_at.desc()),
        )
        visits = _frame(
            session,
            select(
                Visit.id,
                Visit.visit_at,
                Visit.visit_type,
                Visit.modality,
                Visit.duration_minutes,
                author.full_name.label("clinician"),
                Visit.missed_doses,
                Visit.weight_kg,
                Visit.bp_systolic,
                Visit.bp_diastolic,
                Visit.height_cm,
                Visit.waist_cm,
                Visit.heart_rate,
                Visit.assessment_note,
                Visit.plan_note,
                Visit.next_visit_due,
            )
            .outerjoin(author, author.id == Visit.clinician_id)
            .where(Visit.patient_id == patient_id)
            .order_by(Visit.visit_at.desc()),
        )
        flags = _frame(
            session,
            select(
                Flag.id,
                Flag.kind,
                Flag.severity,
                Flag.severity_rank,
                Flag.summary,
                Flag.state,
                Flag.raised_at,
                func.coalesce(Flag.last_finding_at, Flag.raised_at).label("last_finding_at"),
                Flag.finding_count,
                Flag.resolved_at,
                author.full_name.label("owner"),
                Flag.version,
            )
            .outerjoin(author, author.id == Flag.owner_id)
            .where(Flag.patient_id == patient_id)
            .order_by(Flag.severity_rank, Flag.raised_at.desc()),
        )
        amendments = _frame(
            session,
            select(
                Amendment.id,
                Amendment.target_table,
                Amendment.target_id,
                Amendment.field,
                Amendment.old_value,
                Amendment.new_value,
                Amendment.reason,
                author.full_name.label("author"),
                Amendment.amended_at,
            )
            .outerjoin(author, author.id == Amendment.author_id)
            .where(Amendment.patient_id == patient_id)
            .order_by(Amendment.amended_at),
        )
    if not lab_orders.empty:
        lab_orders["overdue"] = lab_orders["due_by"] < today
    return ChartData(
        assessments,
        dose_changes,
        prescriptions,
        side_effects,
        lab_orders,
        lab_results,
        refills,
        visits,
        flags,
        amendments,
    )
