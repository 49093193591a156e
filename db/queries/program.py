"""Supervisor and administrator reads: program overview with drill-down, outcomes, audit trail, users.

The overview reads per-prescriber-and-nurse rows summed in SQL from the per-patient summaries (db.summary),
not one row per patient, so its cost barely grows with the program; a drill-down reads the patients of one
caseload behind one number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Engine, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

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
    PatientMeasureSummary,
    PatientSummary,
    ProgramSnapshot,
    RefillRequest,
    Team,
    User,
    current_assessment,
)
from db.permissions import Actor, authorize
from db.queries.caseload import program_today
from db.settings import get_settings
from db.summary import hours_between

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


def _scope(
    column_of: Any,
    phases: list[str] | None,
    admitted_from: date | None,
    admitted_to: date | None,
    *,
    discharged_too: bool = False,
) -> list:
    """The overview's filters: the chosen phases (none chosen: the active ones, or every phase with
    ``discharged_too``, as outcomes count patients who finished the program) and the admission window."""
    phase = column_of("program_phase")
    if phases:
        conditions = [phase.in_(phases)]
    else:
        conditions = [] if discharged_too else [phase != "discharged"]
    if admitted_from:
        conditions.append(column_of("program_start_date") >= admitted_from)
    if admitted_to:
        conditions.append(column_of("program_start_date") <= admitted_to)
    return conditions


def _past_target(now: datetime) -> ColumnElement[bool]:
    """An open flag older than its severity's response target (counted from its latest finding)."""
    targets = get_settings().flag_target_minutes
    return or_(
        *[
            and_(
                Flag.severity == severity,
                func.coalesce(Flag.last_finding_at, Flag.raised_at) < now - timedelta(minutes=minutes),
            )
            for severity, minutes in targets.items()
        ]
    )


def _figure_rows(
    session: Session,
    *,
    phases: list[str] | None,
    admitted_from: date | None,
    admitted_to: date | None,
    today: date,
    now: datetime,
) -> list[list[Any]]:
    """[prescriber_id, nurse_id, *the METRICS figures] per (prescriber, nurse) pair: one GROUP BY over the
    summaries, and one per table whose rows count against a date (flags past target, overdue labs, check-in
    links), each joined to the summaries and grouped by the pair. Four statements, not one with three grouped
    subqueries joined per patient: SQLite joined those row by row (3.3 s at 100,000 patients, 0.5 s this way)."""
    summary = PatientSummary
    scope = _scope(lambda name: getattr(summary, name), phases, admitted_from, admitted_to)
    pair = (summary.prescriber_id, summary.nurse_id)

    def count_where(condition: ColumnElement[bool]) -> Any:
        return func.sum(case((condition, 1), else_=0))

    from_summaries = {
        "active_patients": count_where(summary.program_phase != "discharged"),
        "new_this_month": count_where(summary.program_start_date >= today.replace(day=1)),
        **{f"{level}_flags": func.sum(getattr(summary, f"{level}_flags")) for level in clinical.SEVERITY_ORDER},
        "overdue_visits": count_where(summary.next_visit_due < today),
        "pending_refills": func.sum(summary.pending_refills),
        "phq9_last_30_days": count_where(summary.last_phq9_at >= now - timedelta(days=30)),
    }
    figures: dict[tuple[Any, Any], dict[str, int]] = {}
    for row in session.execute(
        select(*pair, *[value.label(name) for name, value in from_summaries.items()]).where(*scope).group_by(*pair)
    ).mappings():
        figures[(row["prescriber_id"], row["nurse_id"])] = {name: int(row[name] or 0) for name in from_summaries}
    counted_elsewhere = (
        (
            {"flags_past_target": func.count()},
            Flag.patient_id,
            [Flag.state == "open", _past_target(now)],
        ),
        ({"overdue_labs": func.count()}, LabOrder.patient_id, [LabOrder.status == "pending", LabOrder.due_by < today]),
        (
            {
                "checkin_links_sent": func.count(),
                "checkin_links_answered": count_where(PatientCheckinLink.used_at.is_not(None)),
            },
            PatientCheckinLink.patient_id,
            [PatientCheckinLink.created_at >= now - timedelta(days=CHECKIN_WINDOW_DAYS)],
        ),
    )
    for counts, patient_id, conditions in counted_elsewhere:
        statement = (
            select(*pair, *[value.label(name) for name, value in counts.items()])
            .select_from(patient_id.class_)
            .join(summary, summary.patient_id == patient_id)
            .where(*conditions, *scope)
            .group_by(*pair)
        )
        for row in session.execute(statement).mappings():
            values = figures.get((row["prescriber_id"], row["nurse_id"]))
            if values is not None:  # a pair with no patient in scope has nothing to count
                values.update({name: int(row[name] or 0) for name in counts})
    return [
        [prescriber_id, nurse_id, *[values.get(name, 0) for name in METRICS]]
        for (prescriber_id, nurse_id), values in figures.items()
    ]


def _staff_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(User.id, User.full_name)).all())  # type: ignore[arg-type]


def _figures_frame(rows: list[list[Any]], names: dict[int, str]) -> pd.DataFrame:
    table = pd.DataFrame([row[2:] for row in rows], columns=list(METRICS), dtype=int)
    for index, column in enumerate(("prescriber_id", "nurse_id")):  # user ids; None, not NaN, for unassigned
        table[column] = pd.Series([row[index] for row in rows], dtype=object)
    table.insert(0, "prescriber", table["prescriber_id"].map(lambda uid: names.get(uid, "unassigned")))
    table.insert(1, "nurse", table["nurse_id"].map(lambda uid: names.get(uid, "unassigned")))
    return table


def program_figures(
    actor: Actor,
    *,
    phases: list[str] | None = None,
    admitted_from: date | None = None,
    admitted_to: date | None = None,
    today: date | None = None,
    now: datetime | None = None,
    engine: Engine | None = None,
) -> pd.DataFrame:
    """Every overview figure summed per (prescriber, nurse) pair, in one GROUP BY over the per-patient summaries;
    ``overview_by`` adds the pairs up per prescriber or per nurse. Rows: prescribers x their nurses, however
    many patients the program has. Time-relative figures (overdue, past target, last 30 days) are computed here
    against ``today``/``now``, from the dates the summary keeps."""
    authorize(actor, "view_program", engine=engine)
    today = today or program_today()
    now = now or utcnow()
    with read_session(engine) as session:
        rows = _figure_rows(
            session, phases=phases, admitted_from=admitted_from, admitted_to=admitted_to, today=today, now=now
        )
        names = _staff_names(session)
    return _figures_frame(rows, names)


def patient_metrics(
    actor: Actor,
    *,
    phases: list[str] | None = None,
    admitted_from: date | None = None,
    admitted_to: date | None = None,
    staff_member: tuple[str, int | None] | None = None,
    today: date | None = None,
    now: datetime | None = None,
    engine: Engine | None = None,
) -> pd.DataFrame:
    """One row per patient (filtered by phase and admission date) with every overview figure: the patients
    behind a number (drill-down). ``staff_member`` ("prescriber" or "nurse", user id or None for unassigned)
    limits it to one caseload, so a drill-down reads that caseload's rows, not the program's."""
    authorize(actor, "view_program", engine=engine)
    today = today or program_today()
    now = now or utcnow()
    conditions = _scope(lambda name: getattr(Patient, name), phases, admitted_from, admitted_to)
    if staff_member is not None:
        column = Patient.prescriber_id if staff_member[0] == "prescriber" else Patient.nurse_id
        conditions.append(column.is_(None) if staff_member[1] is None else column == staff_member[1])
    in_scope = select(Patient.id).where(*conditions).scalar_subquery()
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
                func.sum(case((and_(Flag.state == "open", _past_target(now)), 1), else_=0)),
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


def overview_by(figures: pd.DataFrame, group: str, turnaround: pd.DataFrame | None = None) -> pd.DataFrame:
    """Sum the figures per prescriber or per nurse (``group`` is "prescriber" or "nurse"), sorted by name;
    ``figures`` are ``program_figures``' pair rows (or ``patient_metrics``' patient rows: the sums are the same).
    Summed in Python: a pandas group-by on text keys cost more than the SQL behind these few hundred rows."""
    columns = [group, *METRICS.values(), CHECKIN_SHARE]
    if figures.empty:
        return pd.DataFrame(columns=columns)
    sums: dict[str, list[int]] = {}
    for name, *values in figures[[group, *METRICS]].itertuples(index=False, name=None):
        total = sums.setdefault(name, [0] * len(METRICS))
        for index, value in enumerate(values):
            total[index] += int(value)
    position = list(METRICS).index("phq9_last_30_days")
    rows = []
    for name in sorted(sums):
        values: list[Any] = list(sums[name])
        values[position] = round(100 * values[position] / max(values[0], 1), 1)
        rows.append([name, *values])
    table = pd.DataFrame(rows, columns=[group, *METRICS])
    table[CHECKIN_SHARE] = checkin_share(table["checkin_links_answered"], table["checkin_links_sent"])
    if turnaround is not None and group == "prescriber":
        table = table.merge(turnaround, on="prescriber", how="left")
    return table.rename(columns={**METRICS, "phq9_last_30_days": "% with PHQ-9 in last 30 days"})


def checkin_share(answered: pd.Series, sent: pd.Series) -> pd.Series:
    """Answered links as a percentage of links sent (empty where none were sent)."""
    return (100 * answered / sent.where(sent > 0)).round(1)


def drill_down(metrics: pd.DataFrame, group: str, name: str, metric: str) -> pd.DataFrame:
    """The patients behind one number of the overview (``metrics`` from ``patient_metrics``)."""
    rows = metrics[(metrics[group] == name) & (metrics[metric] > 0)]
    return rows[
        ["patient", "mrn", "program_phase", "program_start_date", "next_visit_due", "prescriber", "nurse", metric]
    ]


TURNAROUND = "Median refill turnaround (h)"


def _turnaround_rows(session: Session, since: datetime) -> list[list[Any]]:
    """[prescriber_id, median hours] per (current) prescriber over decisions since ``since``: the median is taken
    in SQL (the middle one or two rows of each prescriber's ordered turnarounds)."""
    hours = hours_between(session.get_bind().dialect.name, RefillRequest.requested_at, RefillRequest.decided_at)
    ranked = (
        select(
            Patient.prescriber_id,
            hours.label("hours"),
            func.row_number().over(partition_by=Patient.prescriber_id, order_by=hours).label("rank"),
            func.count().over(partition_by=Patient.prescriber_id).label("decided"),
        )
        .join(Patient, Patient.id == RefillRequest.patient_id)
        .where(RefillRequest.decided_at.is_not(None), RefillRequest.decided_at >= since)
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.prescriber_id, func.avg(ranked.c.hours))
        .where(
            ranked.c.prescriber_id.is_not(None),
            ranked.c.rank.in_(((ranked.c.decided + 1) // 2, (ranked.c.decided + 2) // 2)),
        )
        .group_by(ranked.c.prescriber_id)
    )
    return [[prescriber_id, float(median)] for prescriber_id, median in rows]


def _turnaround_frame(rows: list[list[Any]], names: dict[int, str]) -> pd.DataFrame:
    table = pd.DataFrame(
        [[names[prescriber_id], median] for prescriber_id, median in rows if prescriber_id in names],
        columns=["prescriber", TURNAROUND],
    )
    if table.empty:
        return table
    table[TURNAROUND] = table[TURNAROUND].astype(float).round(1)
    # Two prescribers with one name share a row, as the per-prescriber figures do.
    return table.groupby("prescriber", as_index=False)[TURNAROUND].median()


def refill_turnaround(actor: Actor, *, since: datetime, engine: Engine | None = None) -> pd.DataFrame:
    """Median hours from request to decision per (current) prescriber, over decisions since ``since``."""
    authorize(actor, "view_program", engine=engine)
    with read_session(engine) as session:
        rows = _turnaround_rows(session, since)
        names = _staff_names(session)
    return _turnaround_frame(rows, names)


# Outcomes count patients with a baseline at least this high and a score in the last this many days.
OUTCOME_MIN_BASELINE = 10
OUTCOME_RECENT_DAYS = 60
OUTCOME_COLUMNS = ["measure", "prescriber_id", "admission_month", "patients", "responses", "remissions"]


def _outcome_rows(
    session: Session,
    *,
    instrument: str | None,
    phases: list[str] | None,
    admitted_from: date | None,
    admitted_to: date | None,
    recent_days: int,
    min_baseline: int,
    now: datetime,
) -> list[list[Any]]:
    summary, measure = PatientSummary, PatientMeasureSummary
    conditions = _scope(lambda name: getattr(summary, name), phases, admitted_from, admitted_to, discharged_too=True)
    if session.get_bind().dialect.name == "sqlite":
        month = func.strftime("%Y-%m", summary.program_start_date)
    else:
        month = func.to_char(summary.program_start_date, "YYYY-MM")
    rows = session.execute(
        select(
            measure.measure,
            summary.prescriber_id,
            month.label("admission_month"),
            func.count().label("patients"),
            func.sum(case((measure.response.is_(True), 1), else_=0)).label("responses"),
            func.sum(case((measure.remission.is_(True), 1), else_=0)).label("remissions"),
        )
        .join(measure, measure.patient_id == summary.patient_id)
        .where(
            measure.measure.in_([instrument] if instrument else clinical.outcome_instruments()),
            measure.baseline_total >= min_baseline,
            measure.latest_total.is_not(None),
            measure.latest_at >= now - timedelta(days=recent_days),
            *conditions,
        )
        .group_by(measure.measure, summary.prescriber_id, month)
    )
    return [
        [name, prescriber_id, month, int(patients), int(responses or 0), int(remissions or 0)]
        for name, prescriber_id, month, patients, responses, remissions in rows
    ]


def _outcomes_frame(rows: list[list[Any]], names: dict[int, str]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=OUTCOME_COLUMNS)
    table["prescriber_id"] = pd.Series([row[1] for row in rows], dtype=object)
    table.insert(0, "prescriber", table["prescriber_id"].map(names.get))
    return table


def outcomes(
    actor: Actor,
    *,
    instrument: str | None = "PHQ-9",
    phases: list[str] | None = None,
    admitted_from: date | None = None,
    admitted_to: date | None = None,
    recent_days: int = OUTCOME_RECENT_DAYS,
    min_baseline: int = OUTCOME_MIN_BASELINE,
    now: datetime | None = None,
    engine: Engine | None = None,
) -> pd.DataFrame:
    """Patients with a baseline at or above ``min_baseline`` and a score in the last ``recent_days``, counted per
    prescriber and month of admission with how many reached response and remission (the rules engine's outcome,
    kept in the per-patient measure summary), per measure (``instrument`` None: every outcome instrument, in one
    read). One GROUP BY; ``outcome_rates`` turns the counts into rates."""
    authorize(actor, "view_program", engine=engine)
    with read_session(engine) as session:
        rows = _outcome_rows(
            session,
            instrument=instrument,
            phases=phases,
            admitted_from=admitted_from,
            admitted_to=admitted_to,
            recent_days=recent_days,
            min_baseline=min_baseline,
            now=now or utcnow(),
        )
        names = _staff_names(session)
    return _outcomes_frame(rows, names)


@dataclass(frozen=True)
class OverviewData:
    """What the overview shows, reduced to one row per prescriber and per nurse (``by["prescriber"]``,
    ``by["nurse"]``: name, user id and the METRICS figures, as ``overview_by`` takes them), the refill
    turnaround per prescriber, and the outcome counts per (measure, "scope" | "prescriber" | "admission_month")
    as ``outcome_rates`` takes them. ``as_of``: the snapshot's time, or None when computed for this view."""

    by: dict[str, pd.DataFrame]
    turnaround: pd.DataFrame
    outcomes: dict[tuple[str, str], pd.DataFrame]
    as_of: datetime | None
    turnaround_as_of: datetime | None = None  # the snapshot's, when computed for other filters (None: now)


SNAPSHOT_SCOPE = "default"
DEFAULT_ADMISSION_WINDOW_DAYS = 365
TURNAROUND_WINDOW_DAYS = 90
OUTCOME_GROUPS = ("scope", "prescriber", "admission_month")


def default_overview_filters(today: date) -> dict[str, Any]:
    """The overview's filters as it opens: every active phase, admitted in the last year (the snapshot's scope)."""
    admitted_from = today - timedelta(days=DEFAULT_ADMISSION_WINDOW_DAYS)
    return {"phases": None, "admitted_from": admitted_from, "admitted_to": today}


def _sum_by(rows: list[list[Any]], key_of: Any) -> list[list[Any]]:
    """Rows of [key, *counts]: ``rows`` summed per ``key_of(row)`` (plain Python: a few thousand short rows)."""
    sums: dict[Any, list[int]] = {}
    for row in rows:
        key, values = key_of(row)
        total = sums.setdefault(key, [0] * len(values))
        for index, value in enumerate(values):
            total[index] += value
    return [[key, *values] for key, values in sums.items()]


def overview_payload(
    session: Session,
    *,
    today: date,
    now: datetime,
    filters: dict[str, Any] | None = None,
    turnaround: list[list[Any]] | None = None,
) -> dict[str, Any]:
    """The overview's figures for ``filters`` (default: the default view's), reduced to what the page shows and
    JSON-ready (user ids, never names or patients): what a snapshot keeps. Per prescriber and per nurse, not
    per pair, so reading it costs the staff's size, not the pairs' or the patients'."""
    filters = filters if filters is not None else default_overview_filters(today)
    pairs = _figure_rows(session, **filters, today=today, now=now)
    outcome_rows = _outcome_rows(
        session, instrument=None, **filters, recent_days=OUTCOME_RECENT_DAYS, min_baseline=OUTCOME_MIN_BASELINE, now=now
    )
    outcomes: list[list[Any]] = []
    for index, group in enumerate(OUTCOME_GROUPS):
        # measure, prescriber_id, admission_month, patients, responses, remissions
        keyed = _sum_by(outcome_rows, lambda row, i=index: ((row[0], None if i == 0 else row[i]), row[3:]))
        outcomes += [[measure, group, key, *counts] for (measure, key), *counts in keyed]
    return {
        "by_prescriber": _sum_by(pairs, lambda row: (row[0], row[2:])),
        "by_nurse": _sum_by(pairs, lambda row: (row[1], row[2:])),
        "turnaround": (
            turnaround
            if turnaround is not None
            else _turnaround_rows(session, now - timedelta(days=TURNAROUND_WINDOW_DAYS))
        ),
        "outcomes": outcomes,
    }


def _overview_frames(
    payload: dict[str, Any], names: dict[int, str], as_of: datetime | None, turnaround_as_of: datetime | None
) -> OverviewData:
    by = {}
    for group in ("prescriber", "nurse"):
        rows = payload[f"by_{group}"]
        table = pd.DataFrame([row[1:] for row in rows], columns=list(METRICS), dtype=int)
        ids = pd.Series([row[0] for row in rows], dtype=object)  # None, not NaN, for the unassigned
        table.insert(0, f"{group}_id", ids)
        table.insert(0, group, ids.map(lambda uid: names.get(uid, "unassigned")))
        by[group] = table
    outcomes: dict[tuple[str, str], pd.DataFrame] = {}
    for measure in clinical.outcome_instruments():
        for group in OUTCOME_GROUPS:
            rows = [row[2:] for row in payload["outcomes"] if row[0] == measure and row[1] == group]
            table = pd.DataFrame(rows, columns=[group, "patients", "responses", "remissions"])
            if group == "prescriber":
                table[group] = [names.get(uid) for uid in table[group]]
            outcomes[(measure, group)] = table
    return OverviewData(by, _turnaround_frame(payload["turnaround"], names), outcomes, as_of, turnaround_as_of)


def overview_data(
    actor: Actor,
    *,
    phases: list[str] | None = None,
    admitted_from: date | None = None,
    admitted_to: date | None = None,
    live: bool = False,
    today: date | None = None,
    now: datetime | None = None,
    engine: Engine | None = None,
) -> OverviewData:
    """The overview's figures. For the default filters, from the background refresher's snapshot when it is
    younger than ``OVERVIEW_SNAPSHOT_MAX_AGE_SECONDS`` and was counted against today (one statement, whatever
    the program's size); otherwise (other filters, ``live``, no fresh snapshot) computed now from the summaries.
    The refill turnaround does not depend on the filters: a fresh snapshot's is used for other filters too."""
    authorize(actor, "view_program", engine=engine)
    today = today or program_today()
    now = now or utcnow()
    filters = {"phases": phases or None, "admitted_from": admitted_from, "admitted_to": admitted_to}
    max_age = timedelta(seconds=get_settings().overview_snapshot_max_age_seconds)
    with read_session(engine) as session:
        snapshot = None
        if not live and max_age:
            snapshot = session.execute(
                select(ProgramSnapshot.computed_at, ProgramSnapshot.payload).where(
                    ProgramSnapshot.scope == SNAPSHOT_SCOPE,
                    ProgramSnapshot.program_today == today,
                    ProgramSnapshot.computed_at >= now - max_age,
                )
            ).first()
        if snapshot is not None and filters == default_overview_filters(today):
            payload, as_of = snapshot.payload, snapshot.computed_at
            turnaround_as_of = as_of
        else:
            turnaround = snapshot.payload["turnaround"] if snapshot is not None else None
            payload = overview_payload(session, today=today, now=now, filters=filters, turnaround=turnaround)
            as_of, turnaround_as_of = None, snapshot.computed_at if snapshot is not None else None
        names = _staff_names(session)
    return _overview_frames(payload, names, as_of, turnaround_as_of)


def outcome_rates(table: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Share of patients with response and remission (percent, one decimal), overall or per ``by``, from the
    counts ``outcomes`` returns (patients without a prescriber count only in the overall rate)."""
    key = by or "scope"
    columns = [key, "patients", "response %", "remission %"]
    counts: dict[Any, list[int]] = {}
    if not table.empty:
        keys = table[by] if by else ["program"] * len(table)
        for name, patients, responses, remissions in zip(
            keys, table["patients"], table["responses"], table["remissions"], strict=True
        ):
            if name is None or (isinstance(name, float) and name != name):  # no prescriber: overall rate only
                continue
            total = counts.setdefault(name, [0, 0, 0])
            total[0] += int(patients)
            total[1] += int(responses)
            total[2] += int(remissions)
    rows = [
        [name, patients, round(100 * responses / patients, 1), round(100 * remissions / patients, 1)]
        for name, (patients, responses, remissions) in sorted(counts.items())
        if patients
    ]
    return pd.DataFrame(rows, columns=columns)


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
