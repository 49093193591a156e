"""Supervisor and administrator reads: program overview with drill-down, outcomes, audit trail, users.

The overview reads one row per patient with every figure it needs (seven set-based queries whatever the
program size) and aggregates per prescriber and per nurse in pandas, so each number can be drilled down
to exactly the patients behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, case, func, or_, select
from sqlalchemy.orm import aliased

import clinical
from db.engine import read_session, utcnow
from db.models import Assessment as A
from db.models import (
    AuditEvent,
    BreakGlassGrant,
    Flag,
    LabOrder,
    Patient,
    PatientCheckinLink,
    RefillRequest,
    Team,
    User,
    current_assessment,
)
from db.permissions import Actor, authorize
from db.queries.caseload import program_today
from db.settings import get_settings

METRICS = {
    "active_patients": "Active patients",
    "new_this_month": "New this month",
    "urgent_flags": "Open urgent flags",
    "high_flags": "Open high flags",
    "moderate_flags": "Open moderate flags",
    "low_flags": "Open low flags",
    "flags_past_target": "Flags past target",
    "overdue_visits": "Overdue visits",
    "overdue_labs": "Overdue labs",
    "pending_refills": "Pending refills",
    "phq9_last_30_days": "PHQ-9 in last 30 days",
    "checkin_links_sent": "Check-in links sent (90 days)",
    "checkin_links_answered": "Check-in links answered (90 days)",
}
CHECKIN_SHARE = "% of check-in links answered"
CHECKIN_WINDOW_DAYS = 90


def patient_metrics(
    actor: Actor,
    *,
    phases: list[str] | None = None,
    admitted_from: date | None = None,
    admitted_to: date | None = None,
    today: date | None = None,
    now: datetime | None = None,
    engine: Engine | None = None,
) -> pd.DataFrame:
    """One row per patient in the program (filtered by phase and admission date) with every overview figure."""
    authorize(actor, "view_program", engine=engine)
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
                    PatientCheckinLink.created_at >= now - timedelta(days=CHECKIN_WINDOW_DAYS),
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


def overview_by(metrics: pd.DataFrame, group: str, turnaround: pd.DataFrame | None = None) -> pd.DataFrame:
    """Sum the per-patient figures per prescriber or per nurse (``group`` is "prescriber" or "nurse")."""
    if metrics.empty:
        return pd.DataFrame(columns=[group, *METRICS.values(), CHECKIN_SHARE])
    table = metrics.groupby(group)[list(METRICS)].sum()
    table["phq9_last_30_days"] = (100 * table["phq9_last_30_days"] / table["active_patients"].clip(lower=1)).round(1)
    table[CHECKIN_SHARE] = checkin_share(table["checkin_links_answered"], table["checkin_links_sent"])
    if turnaround is not None and group == "prescriber":
        table = table.join(turnaround.set_index("prescriber"), how="left")
    return table.reset_index().rename(columns={**METRICS, "phq9_last_30_days": "% with PHQ-9 in last 30 days"})


def checkin_share(answered: pd.Series, sent: pd.Series) -> pd.Series:
    """Answered links as a percentage of links sent (empty where none were sent)."""
    return (100 * answered / sent.where(sent > 0)).round(1)


def drill_down(metrics: pd.DataFrame, group: str, name: str, metric: str) -> pd.DataFrame:
    """The patients behind one number of the overview."""
    rows = metrics[(metrics[group] == name) & (metrics[metric] > 0)]
    return rows[
        ["patient", "mrn", "program_phase", "program_start_date", "next_visit_due", "prescriber", "nurse", metric]
    ]


def refill_turnaround(actor: Actor, *, since: datetime, engine: Engine | None = None) -> pd.DataFrame:
    """Median hours from request to decision per prescriber, over decisions since ``since``."""
    authorize(actor, "view_program", engine=engine)
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
    actor: Actor,
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
    authorize(actor, "view_program", engine=engine)
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


def audit_events(
    actor: Actor,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    username: str | None = None,
    patient_mrn: str | None = None,
    action: str | None = None,
    data_category: str | None = None,
    limit: int = 5000,
    engine: Engine | None = None,
) -> pd.DataFrame:
    """Search the audit log (supervisor, admin), newest first."""
    authorize(actor, "view_audit", engine=engine)
    statement = (
        select(
            AuditEvent.id,
            AuditEvent.at,
            AuditEvent.username,
            AuditEvent.role,
            AuditEvent.action,
            Patient.mrn.label("patient_mrn"),
            AuditEvent.data_category,
            AuditEvent.record_type,
            AuditEvent.record_id,
            AuditEvent.outcome,
            AuditEvent.detail,
        )
        .outerjoin(Patient, Patient.id == AuditEvent.patient_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    if since is not None:
        statement = statement.where(AuditEvent.at >= since)
    if until is not None:
        statement = statement.where(AuditEvent.at < until)
    if username:
        statement = statement.where(AuditEvent.username == username)
    if patient_mrn:
        statement = statement.where(Patient.mrn == patient_mrn)
    if action:
        statement = statement.where(AuditEvent.action == action)
    if data_category:
        statement = statement.where(AuditEvent.data_category == data_category)
    with read_session(engine) as session:
        result = session.execute(statement)
        return pd.DataFrame(result.mappings().all(), columns=list(result.keys()))


def audit_vocabulary(actor: Actor, *, engine: Engine | None = None) -> dict[str, list[str]]:
    """The distinct actions, categories and user names in the log, for the search filters."""
    authorize(actor, "view_audit", engine=engine)
    with read_session(engine) as session:
        return {
            "action": sorted(session.scalars(select(AuditEvent.action).distinct())),
            "data_category": sorted(c for c in session.scalars(select(AuditEvent.data_category).distinct()) if c),
            "username": sorted(u for u in session.scalars(select(User.username)) if u),
        }


def list_users(actor: Actor, *, engine: Engine | None = None) -> pd.DataFrame:
    authorize(actor, "manage_users", engine=engine)
    statement = (
        select(
            User.id,
            User.username,
            User.full_name,
            User.role,
            User.credentials,
            Team.name.label("team"),
            User.licensed_states,
            User.is_active,
            User.pending_approval,
            User.must_change_password,
            User.created_at,
            User.version,
        )
        .outerjoin(Team, Team.id == User.team_id)
        .order_by(User.role, User.username)
    )
    with read_session(engine) as session:
        table = pd.DataFrame(session.execute(statement).mappings().all())
    if not table.empty:
        table["licensed_states"] = table["licensed_states"].map(lambda states: ", ".join(states or []))
    return table


def pending_accounts(actor: Actor, *, engine: Engine | None = None) -> pd.DataFrame:
    """Accounts waiting for a second person's approval, with who created them or set their password."""
    authorize(actor, "approve_accounts", engine=engine)
    creator = aliased(User)
    statement = (
        select(
            User.id,
            User.username,
            User.full_name,
            User.role,
            User.pending_reason.label("reason"),
            creator.username.label("requested_by"),
            User.created_by_id,
            User.version,
        )
        .outerjoin(creator, creator.id == User.created_by_id)
        .where(User.pending_approval.is_(True), User.is_active.is_(True))
        .order_by(User.id)
    )
    with read_session(engine) as session:
        return pd.DataFrame(
            session.execute(statement).mappings().all(),
            columns=["id", "username", "full_name", "role", "reason", "requested_by", "created_by_id", "version"],
        )


@dataclass(frozen=True)
class StaffMember:
    user_id: int
    full_name: str
    role: str
    team_id: int | None
    licensed_states: tuple[str, ...]


def staff(actor: Actor, *, engine: Engine | None = None) -> list[StaffMember]:
    """Active prescribers and nurses, for assigning caseloads."""
    authorize(actor, "reassign", engine=engine)
    with read_session(engine) as session:
        rows = session.execute(
            select(User.id, User.full_name, User.role, User.team_id, User.licensed_states)
            .where(User.role.in_(("prescriber", "nurse")), User.is_active.is_(True))
            .order_by(User.full_name)
        ).all()
    return [StaffMember(row.id, row.full_name, row.role, row.team_id, tuple(row.licensed_states or ())) for row in rows]


def teams(engine: Engine | None = None) -> list[tuple[int, str]]:
    with read_session(engine) as session:
        return [(row.id, row.name) for row in session.execute(select(Team.id, Team.name).order_by(Team.name))]


def emergency_access_log(actor: Actor, *, engine: Engine | None = None) -> pd.DataFrame:
    """Break-the-glass grants, newest first, for supervisors: who opened which chart, why, until when."""
    authorize(actor, "view_audit", engine=engine)
    with read_session(engine) as session:
        result = session.execute(
            select(
                BreakGlassGrant.granted_at,
                User.full_name.label("user"),
                User.role,
                Patient.mrn,
                BreakGlassGrant.category,
                BreakGlassGrant.allows_care.label("care_actions"),
                BreakGlassGrant.reason,
                BreakGlassGrant.expires_at,
            )
            .join(User, User.id == BreakGlassGrant.user_id)
            .join(Patient, Patient.id == BreakGlassGrant.patient_id)
            .order_by(BreakGlassGrant.granted_at.desc())
            .limit(500)
        )
        return pd.DataFrame(result.mappings().all(), columns=list(result.keys()))
