"""The overview's figures as computed before the per-patient summaries (per-patient rows in pandas, outcomes
through the rules engine per patient, refill medians in pandas): the reference the summary-based figures are
compared with in tests/db/test_overview_figures.py."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, case, func, or_, select

import clinical
from db.engine import read_session, utcnow
from db.models import Assessment as A
from db.models import Flag, LabOrder, Patient, PatientCheckinLink, RefillRequest, User, current_assessment
from db.queries.caseload import program_today
from db.settings import get_settings


def patient_metrics(
    *,
    phases: list[str] | None = None,
    admitted_from: date | None = None,
    admitted_to: date | None = None,
    today: date | None = None,
    now: datetime | None = None,
    engine: Engine | None = None,
) -> pd.DataFrame:
    """One row per patient in the program (filtered by phase and admission date) with every overview figure."""
    today = today or program_today()
    now = now or utcnow()
    targets = get_settings().flag_target_minutes
    conditions = [Patient.program_phase != "discharged"] if not phases else [Patient.program_phase.in_(phases)]
    if admitted_from:
        conditions.append(Patient.program_start_date >= admitted_from)
    if admitted_to:
        conditions.append(Patient.program_start_date <= admitted_to)
    in_scope = select(Patient.id).where(*conditions).scalar_subquery()
    past_target = or_(
        *[
            and_(
                Flag.severity == severity,
                func.coalesce(Flag.last_finding_at, Flag.raised_at) < now - timedelta(minutes=minutes),
            )
            for severity, minutes in targets.items()
        ]
    )
    with read_session(engine) as session:
        patients = pd.DataFrame(
            session.execute(
                select(
                    Patient.id.label("patient_id"),
                    Patient.mrn,
                    (Patient.family_name + ", " + Patient.given_name).label("patient"),
                    Patient.program_phase,
                    Patient.program_start_date,
                    Patient.next_visit_due,
                    Patient.prescriber_id,
                    Patient.nurse_id,
                    Patient.state_of_residence,
                ).where(*conditions)
            )
            .mappings()
            .all(),
            columns=[
                "patient_id",
                "mrn",
                "patient",
                "program_phase",
                "program_start_date",
                "next_visit_due",
                "prescriber_id",
                "nurse_id",
                "state_of_residence",
            ],
        )
        flags = session.execute(
            select(
                Flag.patient_id,
                *[func.sum(case((Flag.severity == s, 1), else_=0)) for s in clinical.SEVERITY_ORDER],
                func.sum(case((and_(Flag.state == "open", past_target), 1), else_=0)),
            )
            .where(Flag.patient_id.in_(in_scope), Flag.state != "resolved")
            .group_by(Flag.patient_id)
        ).all()
        labs = dict(
            session.execute(
                select(LabOrder.patient_id, func.count())
                .where(LabOrder.patient_id.in_(in_scope), LabOrder.status == "pending", LabOrder.due_by < today)
                .group_by(LabOrder.patient_id)
            ).all()
        )
        refills = dict(
            session.execute(
                select(RefillRequest.patient_id, func.count())
                .where(RefillRequest.patient_id.in_(in_scope), RefillRequest.status.in_(("pending", "on_hold")))
                .group_by(RefillRequest.patient_id)
            ).all()
        )
        recent_phq9 = set(
            session.scalars(
                select(A.patient_id)
                .where(
                    A.patient_id.in_(in_scope),
                    A.instrument == "PHQ-9",
                    A.administered_at >= now - timedelta(days=30),
                    current_assessment(),
                )
                .distinct()
            )
        )
        links = {
            row[0]: (int(row[1]), int(row[2] or 0))
            for row in session.execute(
                select(
                    PatientCheckinLink.patient_id,
                    func.count(),
                    func.sum(case((PatientCheckinLink.used_at.is_not(None), 1), else_=0)),
                )
                .where(
                    PatientCheckinLink.patient_id.in_(in_scope),
                    PatientCheckinLink.created_at >= now - timedelta(days=90),
                )
                .group_by(PatientCheckinLink.patient_id)
            )
        }
        names = dict(session.execute(select(User.id, User.full_name)).all())
    flag_counts = {row[0]: row[1:] for row in flags}
    month_start = today.replace(day=1)
    patients["prescriber"] = patients["prescriber_id"].map(lambda uid: names.get(uid, "unassigned"))
    patients["nurse"] = patients["nurse_id"].map(lambda uid: names.get(uid, "unassigned"))
    patients["active_patients"] = (patients["program_phase"] != "discharged").astype(int)
    patients["new_this_month"] = (patients["program_start_date"] >= month_start).astype(int)
    for index, severity in enumerate(clinical.SEVERITY_ORDER):
        patients[f"{severity}_flags"] = patients["patient_id"].map(
            lambda pid, i=index: int(flag_counts.get(pid, (0,) * 5)[i] or 0)
        )
    patients["flags_past_target"] = patients["patient_id"].map(lambda pid: int(flag_counts.get(pid, (0,) * 5)[4] or 0))
    patients["overdue_visits"] = patients["next_visit_due"].map(lambda due: int(due is not None and due < today))
    patients["overdue_labs"] = patients["patient_id"].map(lambda pid: labs.get(pid, 0))
    patients["pending_refills"] = patients["patient_id"].map(lambda pid: refills.get(pid, 0))
    patients["phq9_last_30_days"] = patients["patient_id"].isin(recent_phq9).astype(int)
    patients["checkin_links_sent"] = patients["patient_id"].map(lambda pid: links.get(pid, (0, 0))[0])
    patients["checkin_links_answered"] = patients["patient_id"].map(lambda pid: links.get(pid, (0, 0))[1])
    return patients


def refill_turnaround(*, since: datetime, engine: Engine | None = None) -> pd.DataFrame:
    """Median hours from request to decision per prescriber, over decisions since ``since``."""
    with read_session(engine) as session:
        rows = pd.DataFrame(
            session.execute(
                select(User.full_name.label("prescriber"), RefillRequest.requested_at, RefillRequest.decided_at)
                .join(Patient, Patient.id == RefillRequest.patient_id)
                .join(User, User.id == Patient.prescriber_id)
                .where(RefillRequest.decided_at.is_not(None), RefillRequest.decided_at >= since)
            )
            .mappings()
            .all(),
            columns=["prescriber", "requested_at", "decided_at"],
        )
    if rows.empty:
        return pd.DataFrame(columns=["prescriber", "Median refill turnaround (h)"])
    rows["hours"] = (rows["decided_at"] - rows["requested_at"]).dt.total_seconds() / 3600
    return rows.groupby("prescriber")["hours"].median().round(1).rename("Median refill turnaround (h)").reset_index()


def outcomes(
    *,
    instrument: str = "PHQ-9",
    phases: list[str] | None = None,
    admitted_from: date | None = None,
    admitted_to: date | None = None,
    recent_days: int = 60,
    min_baseline: int = 10,
    now: datetime | None = None,
    engine: Engine | None = None,
) -> pd.DataFrame:
    """Per patient with a baseline at or above ``min_baseline`` and a score in the last ``recent_days``:
    baseline, latest, response (>= 50 % reduction) and remission (below 5), from the rules engine."""
    now = now or utcnow()
    conditions = [Patient.program_phase.in_(phases)] if phases else []
    if admitted_from:
        conditions.append(Patient.program_start_date >= admitted_from)
    if admitted_to:
        conditions.append(Patient.program_start_date <= admitted_to)

    # Baseline and latest per patient as index seeks on (patient, instrument, time): a window over every
    # score of the program (two years of weekly scores for 10,000 patients) took seconds.
    def edge(column: Any, *, newest: bool) -> Any:
        order = (A.administered_at.desc(), A.id.desc()) if newest else (A.administered_at, A.id)
        return (
            select(column)
            .where(A.patient_id == Patient.id, A.instrument == instrument, A.total.is_not(None), current_assessment())
            .order_by(*order)
            .limit(1)
            .correlate(Patient)
            .scalar_subquery()
        )

    with read_session(engine) as session:
        rows = session.execute(
            select(
                Patient.id,
                edge(A.total, newest=False).label("baseline"),
                edge(A.total, newest=True).label("latest"),
                edge(A.administered_at, newest=True).label("latest_at"),
                Patient.program_start_date,
                User.full_name.label("prescriber"),
            )
            .outerjoin(User, User.id == Patient.prescriber_id)
            .where(*conditions)
        ).all()
    per_patient: dict[int, dict[str, object]] = {
        patient_id: {
            "patient_id": patient_id,
            "prescriber": prescriber,
            "admission_month": start.strftime("%Y-%m"),
            "baseline": baseline,
            "latest": latest,
            "latest_at": latest_at,
        }
        for patient_id, baseline, latest, latest_at, start, prescriber in rows
    }
    table = []
    for entry in per_patient.values():
        if entry.get("baseline") is None or entry.get("latest") is None:
            continue
        if entry["baseline"] < min_baseline or entry["latest_at"] < now - timedelta(days=recent_days):  # type: ignore[operator]
            continue
        result = clinical.treatment_outcome(entry["baseline"], entry["latest"], instrument=instrument)
        table.append(
            {
                **entry,
                "percent_reduction": result.percent_reduction,
                "response": result.response,
                "remission": result.remission,
            }
        )
    return pd.DataFrame(
        table,
        columns=[
            "patient_id",
            "prescriber",
            "admission_month",
            "baseline",
            "latest",
            "latest_at",
            "percent_reduction",
            "response",
            "remission",
        ],
    )


def outcome_rates(table: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Share of patients with response and remission (percent, one decimal), overall or per ``by``."""
    if table.empty:
        return pd.DataFrame(columns=([by] if by else []) + ["patients", "response %", "remission %"])
    grouped = table.groupby(by) if by else table.assign(_all="program").groupby("_all")
    rates = grouped.agg(
        patients=("patient_id", "count"), response=("response", "mean"), remission=("remission", "mean")
    )
    rates["response %"] = (100 * rates.pop("response")).round(1)
    rates["remission %"] = (100 * rates.pop("remission")).round(1)
    return rates.reset_index().rename(columns={"_all": "scope"})


