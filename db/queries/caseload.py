"""The caseload table: one row per patient, built with a fixed number of set-based queries.

Nine SELECTs, whatever the caseload size: patients, primary diagnoses, active medications, the
latest/previous/baseline PHQ-9 and GAD-7, open flags, labs, refills, last visits and the newest check-in link,
each aggregated over the whole caseload and joined in pandas.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, Select, case, func, select

import clinical
from db.engine import read_session, utcnow
from db.models import (
    Diagnosis,
    Flag,
    LabOrder,
    Patient,
    PatientMeasureSummary,
    PatientSummary,
    Prescription,
    RefillRequest,
    User,
)
from db.permissions import Actor, PermissionDenied, caseload_scope
from db.queries.checkin import latest_links, measure_status
from db.queries.patients import age_on
from db.settings import get_settings

SEVERITY_NAMES = ("urgent", "high", "moderate", "low")
TRACKED_MEASURES = ("PHQ-9", "GAD-7")
# Points that order the caseload so the patients who need attention today come first (see README).
ATTENTION_POINTS = {
    "flag_urgent": 1000,
    "flag_high": 300,
    "flag_moderate": 100,
    "flag_low": 30,
    "escalated_flag": 200,
    "visit_overdue": 80,
    "worsening_score": 60,
    "measure_overdue": 40,
    "lab_overdue": 30,
    "refill_pending": 20,
}
WORSENING_POINTS = 5  # a rise of at least the PHQ-9 minimal clinically important difference


def program_today(now: datetime | None = None) -> date:
    """Today's date in the program's time zone (timestamps are stored in UTC)."""
    settings = get_settings()
    return (now or utcnow()).replace(tzinfo=UTC).astimezone(settings.timezone).date()


def _caseload_patients(actor: Actor, prescriber_id: int | None) -> Select:
    if actor.role == "prescriber":
        if prescriber_id not in (None, actor.user_id):
            raise PermissionDenied(
                "Not permitted: prescribers see their own caseload only.",
                actor=actor,
                capability="view_caseload",
                detail=f"prescriber id {prescriber_id}",
            )
        prescriber_id = actor.user_id
    elif actor.role != "supervisor":
        raise PermissionDenied(
            f"Not permitted: the caseload page is not available to a {actor.role}.",
            actor=actor,
            capability="view_caseload",
        )
    statement = select(Patient.id).where(caseload_scope(actor), Patient.program_phase != "discharged")
    if prescriber_id is not None:
        statement = statement.where(Patient.prescriber_id == prescriber_id)
    return statement


def caseload(
    actor: Actor, *, prescriber_id: int | None = None, today: date | None = None, engine: Engine | None = None
) -> pd.DataFrame:
    """The caseload table for the actor (a prescriber) or for any prescriber (a supervisor)."""
    today = today or program_today()
    settings = get_settings()
    ids = _caseload_patients(actor, prescriber_id).scalar_subquery()
    in_caseload = Patient.id.in_(ids)
    with read_session(engine) as session:
        patient_rows = session.execute(
            select(
                Patient.id.label("patient_id"),
                Patient.mrn,
                Patient.family_name,
                Patient.given_name,
                Patient.date_of_birth,
                Patient.program_phase,
                Patient.program_start_date,
                Patient.next_visit_due,
                PatientSummary.last_visit_at,
            )
            .outerjoin(PatientSummary, PatientSummary.patient_id == Patient.id)
            .where(in_caseload)
        ).all()
        patients = pd.DataFrame(
            patient_rows,
            columns=[
                "patient_id",
                "mrn",
                "family_name",
                "given_name",
                "date_of_birth",
                "program_phase",
                "program_start_date",
                "next_visit_due",
                "last_visit_at",
            ],
        )
        diagnoses = session.execute(
            select(Diagnosis.patient_id, Diagnosis.icd10_code, Diagnosis.description).where(
                Diagnosis.patient_id.in_(ids), Diagnosis.is_primary.is_(True)
            )
        ).all()
        medications = session.execute(
            select(
                Prescription.patient_id, Prescription.drug, Prescription.dose, Prescription.unit, Prescription.frequency
            )
            .where(
                Prescription.patient_id.in_(ids), Prescription.status == "active", Prescription.is_psychiatric.is_(True)
            )
            .order_by(Prescription.patient_id, Prescription.drug)
        ).all()
        scores = _score_rows(session, ids)
        flags = session.execute(
            select(
                Flag.patient_id,
                func.count(),
                func.min(Flag.severity_rank),
                func.sum(case((Flag.state == "escalated", 1), else_=0)),
            )
            .where(Flag.patient_id.in_(ids), Flag.state != "resolved")
            .group_by(Flag.patient_id)
        ).all()
        labs = session.execute(
            select(LabOrder.patient_id, func.count(), func.sum(case((LabOrder.due_by < today, 1), else_=0)))
            .where(LabOrder.patient_id.in_(ids), LabOrder.status == "pending")
            .group_by(LabOrder.patient_id)
        ).all()
        refills = session.execute(
            select(RefillRequest.patient_id, func.count())
            .where(RefillRequest.patient_id.in_(ids), RefillRequest.status.in_(("pending", "on_hold")))
            .group_by(RefillRequest.patient_id)
        ).all()
        visits = [(row.patient_id, row.last_visit_at) for row in patient_rows]  # the summary's last visit
        links = latest_links(session, ids)
    return _assemble(
        patients,
        diagnoses,
        medications,
        scores,
        flags,
        labs,
        refills,
        visits,
        today,
        settings.measure_cadence_days,
        links,
    )


def _score_rows(session, ids) -> list:  # type: ignore[no-untyped-def]
    """Latest, previous and first (baseline) score per patient and measure, from the per-patient measure summary
    (db.summary), as (patient, measure, total, severity, time, rank from newest, rank from oldest) rows: a window
    over every score of the caseload read two years of weekly scores per patient on every view."""
    summary = PatientMeasureSummary
    rows = session.execute(
        select(
            summary.patient_id,
            summary.measure,
            summary.latest_total,
            summary.latest_severity,
            summary.latest_at,
            summary.previous_total,
            summary.baseline_total,
        ).where(summary.patient_id.in_(ids), summary.measure.in_(TRACKED_MEASURES), summary.latest_total.is_not(None))
    ).all()
    ranked = []
    for patient_id, measure, total, severity, at, previous, baseline in rows:
        ranked.append((patient_id, measure, total, severity, at, 1, 0))
        if previous is not None:
            ranked.append((patient_id, measure, previous, None, None, 2, 0))
        ranked.append((patient_id, measure, baseline, None, None, 0, 1))
    return ranked


def _assemble(
    patients: pd.DataFrame,
    diagnoses,
    medications,
    scores,
    flags,
    labs,
    refills,
    visits,  # type: ignore[no-untyped-def]
    today: date,
    cadence: dict[str, dict[str, int]],
    links: dict[int, clinical.LinkSnapshot] | None = None,
) -> pd.DataFrame:
    if patients.empty:
        return pd.DataFrame(columns=CASELOAD_COLUMNS)
    diagnosis_by_patient = {row[0]: f"{row[2]} ({row[1]})" for row in diagnoses}
    meds_by_patient: dict[int, list[str]] = {}
    for patient_id, drug, dose, unit, frequency in medications:
        meds_by_patient.setdefault(patient_id, []).append(f"{drug} {dose:g} {unit} {frequency}")
    latest: dict[tuple[int, str], dict[str, object]] = {}
    for patient_id, instrument, total, severity, at, newest, oldest in scores:
        entry = latest.setdefault((patient_id, instrument), {})
        if newest == 1:
            entry.update(total=total, severity=severity, at=at)
        if newest == 2:
            entry["previous"] = total
        if oldest == 1:
            entry["baseline"] = total
    flag_by_patient = {row[0]: (int(row[1]), int(row[2]), int(row[3] or 0)) for row in flags}
    labs_by_patient = {row[0]: (int(row[1]), int(row[2] or 0)) for row in labs}
    refills_by_patient = {row[0]: int(row[1]) for row in refills}
    last_visit_by_patient = {row[0]: row[1] for row in visits}
    now = utcnow()

    rows = []
    for patient in patients.itertuples(index=False):
        pid = patient.patient_id
        open_flags, top_rank, escalated = flag_by_patient.get(pid, (0, None, 0))
        pending_labs, overdue_labs = labs_by_patient.get(pid, (0, 0))
        pending_refills = refills_by_patient.get(pid, 0)
        last_visit = last_visit_by_patient.get(pid)
        next_due = patient.next_visit_due
        visit_overdue = bool(next_due is not None and next_due < today)
        row: dict[str, object] = {
            "patient_id": pid,
            "Patient": f"{patient.family_name}, {patient.given_name}",
            "MRN": patient.mrn,
            "Age": age_on(patient.date_of_birth, today),
            "Phase": patient.program_phase,
            "Week": max(1, (today - patient.program_start_date).days // 7 + 1),
            "Primary diagnosis": diagnosis_by_patient.get(pid, ""),
            "Medications": "; ".join(meds_by_patient.get(pid, [])),
            "Open flags": open_flags,
            "Top flag": SEVERITY_NAMES[top_rank] if top_rank is not None else "",
            "Escalated": escalated,
            "Labs pending": pending_labs,
            "Labs overdue": overdue_labs,
            "Refills pending": pending_refills,
            "Last visit": last_visit.date() if last_visit else None,
            "Next visit due": next_due,
            "Visit overdue": visit_overdue,
        }
        attention = 0
        if top_rank is not None:
            attention += ATTENTION_POINTS[f"flag_{SEVERITY_NAMES[top_rank]}"]
        attention += ATTENTION_POINTS["escalated_flag"] * min(escalated, 1)
        attention += ATTENTION_POINTS["visit_overdue"] if visit_overdue else 0
        attention += ATTENTION_POINTS["lab_overdue"] * min(overdue_labs, 3)
        attention += ATTENTION_POINTS["refill_pending"] * min(pending_refills, 2)
        worsening = False
        measures_overdue = []
        for instrument in TRACKED_MEASURES:
            entry = latest.get((pid, instrument), {})
            total = entry.get("total")
            previous = entry.get("previous")
            baseline = entry.get("baseline")
            label = instrument.replace("-", "")
            row[instrument] = total
            row[f"{instrument} severity"] = entry.get("severity") or ""
            row[f"{instrument} Δ prev"] = (total - previous) if total is not None and previous is not None else None
            row[f"{instrument} Δ baseline"] = (total - baseline) if total is not None and baseline is not None else None
            if row[f"{instrument} Δ prev"] is not None and row[f"{instrument} Δ prev"] >= WORSENING_POINTS:
                worsening = True
            interval = cadence.get(patient.program_phase, {}).get(instrument)
            at = entry.get("at")
            due = (at.date() + timedelta(days=interval)) if (interval and at) else (today if interval else None)
            row[f"{label} due"] = due
            if due is not None and due < today:
                measures_overdue.append(instrument)
        row["Measures overdue"] = ", ".join(measures_overdue)
        row["Check-in"] = measure_status(
            phase=patient.program_phase,
            latest_measure_at={m: latest.get((pid, m), {}).get("at") for m in TRACKED_MEASURES},  # type: ignore[misc]
            latest_link=(links or {}).get(pid),
            last_visit_at=last_visit,
            today=today,
            now=now,
            cadence=cadence,
        )
        attention += ATTENTION_POINTS["worsening_score"] if worsening else 0
        attention += ATTENTION_POINTS["measure_overdue"] if measures_overdue else 0
        row["Worsening"] = worsening
        row["Attention"] = attention
        row["Needs attention"] = bool(
            (top_rank is not None and top_rank <= 1)
            or escalated
            or visit_overdue
            or overdue_labs
            or measures_overdue
            or worsening
        )
        rows.append(row)
    table = pd.DataFrame(rows, columns=CASELOAD_COLUMNS)
    return table.sort_values(
        ["Attention", "Next visit due", "Patient"], ascending=[False, True, True], na_position="last", kind="stable"
    ).reset_index(drop=True)


# Order: what decides today's attention first (flags, scores, what is due), then the clinical context.
CASELOAD_COLUMNS = [
    "patient_id", "Patient", "MRN", "Top flag", "Open flags",
    "PHQ-9", "PHQ-9 severity", "PHQ-9 Δ prev", "PHQ-9 Δ baseline",
    "GAD-7", "GAD-7 severity", "GAD-7 Δ prev", "GAD-7 Δ baseline",
    "Measures overdue", "Check-in", "Next visit due", "Visit overdue", "Last visit",
    "Labs pending", "Labs overdue", "Refills pending",
    "Age", "Phase", "Week", "Medications", "Primary diagnosis",
    "PHQ9 due", "GAD7 due", "Escalated", "Worsening", "Needs attention", "Attention",
]  # fmt: skip


def prescribers(actor: Actor, *, engine: Engine | None = None) -> list[tuple[int, str]]:
    """Prescribers whose caseload the actor may open (a prescriber: only themself)."""
    statement = select(User.id, User.full_name).where(User.role == "prescriber", User.is_active.is_(True))
    if actor.role == "prescriber":
        statement = statement.where(User.id == actor.user_id)
    elif actor.role != "supervisor":
        return []
    with read_session(engine) as session:
        return [(row.id, row.full_name) for row in session.execute(statement.order_by(User.full_name))]


__all__ = ["CASELOAD_COLUMNS", "caseload", "prescribers", "program_today"]
