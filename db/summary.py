"""Per-patient summaries (patient_summaries, patient_measure_summaries): kept by the writes, rebuilt from history.

Every write command that changes what a summary holds (visits, scores and their corrections, flags, refills,
reassignment, onboarding) calls ``refresh_patient_summary`` in its own transaction, so the summary commits or
rolls back with the write. ``rebuild_summaries`` recomputes every row from history with the same statements
(``python -m db.rebuild_summaries``); a test proves the two agree after random writes.

A refresh first locks the patient's row: two writers for one patient then compute in turn, and the second
sees the first's committed history (PostgreSQL reads a fresh snapshot per statement), so a summary never
keeps the figures of a write that was overtaken.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    Delete,
    Insert,
    Select,
    String,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

import clinical
from db.engine import utcnow
from db.models import Assessment as A
from db.models import Flag, Patient, PatientMeasureSummary, PatientSummary, RefillRequest, Visit, current_assessment

# Rows per INSERT when rebuilding a whole program.
REBUILD_CHUNK = 5000
UNRESOLVED_BY_SEVERITY = {severity: f"{severity}_flags" for severity in clinical.SEVERITY_ORDER}


def hours_between(dialect: str, start: Any, end: Any) -> ColumnElement[float]:
    """``end - start`` in hours, in SQL, on SQLite and PostgreSQL."""
    if dialect == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 24.0
    return func.extract("epoch", end - start) / 3600.0


# Which patients a statement covers: every one (a rebuild), one (most writes), or a list. One patient is an
# equality rather than an expanding IN, which SQLAlchemy would re-render into the statement on every execution.
ALL, ONE, SOME = "all", "one", "some"


def _scope(patient_ids: Sequence[int] | None) -> str:
    return ALL if patient_ids is None else ONE if len(patient_ids) == 1 else SOME


def _limit_to(column: Any, scope: str) -> list[ColumnElement[bool]]:
    if scope == ONE:
        return [column == bindparam("patient_id")]
    return [column.in_(bindparam("patient_ids", expanding=True))] if scope == SOME else []


def _parameters(patient_ids: Sequence[int] | None) -> dict[str, Any]:
    scope = _scope(patient_ids)
    if patient_ids is None or scope == ALL:
        return {}
    return {"patient_id": patient_ids[0]} if scope == ONE else {"patient_ids": list(patient_ids)}


# The statements are built once per shape and reused: building these SQLAlchemy expressions (aliases,
# correlated subqueries) cost tens of milliseconds, far more than running them for one patient.
@functools.cache
def _summary_statement(dialect: str, scope: str) -> Select[Any]:
    visits = (
        select(Visit.patient_id, func.max(Visit.visit_at).label("last_visit_at"))
        .where(*_limit_to(Visit.patient_id, scope))
        .group_by(Visit.patient_id)
        .subquery()
    )
    flags = (
        select(
            Flag.patient_id,
            func.count().label("open_flags"),
            *[
                func.sum(case((Flag.severity == severity, 1), else_=0)).label(column)
                for severity, column in UNRESOLVED_BY_SEVERITY.items()
            ],
        )
        .where(Flag.state != "resolved", *_limit_to(Flag.patient_id, scope))
        .group_by(Flag.patient_id)
        .subquery()
    )
    decided = RefillRequest.decided_at.is_not(None)
    refills = (
        select(
            RefillRequest.patient_id,
            func.sum(case((RefillRequest.status.in_(("pending", "on_hold")), 1), else_=0)).label("pending_refills"),
            func.sum(case((decided, 1), else_=0)).label("refills_decided"),
            func.sum(
                case((decided, hours_between(dialect, RefillRequest.requested_at, RefillRequest.decided_at)), else_=0.0)
            ).label("refill_turnaround_hours"),
        )
        .where(*_limit_to(RefillRequest.patient_id, scope))
        .group_by(RefillRequest.patient_id)
        .subquery()
    )
    counts = ["open_flags", *UNRESOLVED_BY_SEVERITY.values()]
    return (
        select(
            Patient.id.label("patient_id"),
            Patient.prescriber_id,
            Patient.nurse_id,
            Patient.program_phase,
            Patient.program_start_date,
            Patient.next_visit_due,
            visits.c.last_visit_at,
            *[func.coalesce(flags.c[column], 0).label(column) for column in counts],
            func.coalesce(refills.c.pending_refills, 0).label("pending_refills"),
            func.coalesce(refills.c.refills_decided, 0).label("refills_decided"),
            func.coalesce(refills.c.refill_turnaround_hours, 0.0).label("refill_turnaround_hours"),
        )
        .outerjoin(visits, visits.c.patient_id == Patient.id)
        .outerjoin(flags, flags.c.patient_id == Patient.id)
        .outerjoin(refills, refills.c.patient_id == Patient.id)
        .where(*_limit_to(Patient.id, scope))
        .order_by(Patient.id)
    )


def _summary_rows(connection: Connection, patient_ids: Sequence[int] | None, now: datetime) -> list[dict[str, Any]]:
    statement = _summary_statement(connection.dialect.name, _scope(patient_ids))
    rows = []
    for row in connection.execute(statement, _parameters(patient_ids)).mappings():
        values = dict(row)
        values["refill_turnaround_hours"] = round(float(values["refill_turnaround_hours"]), 4)
        values["updated_at"] = now
        rows.append(values)
    return rows


@functools.cache
def _measure_statement(instrument: str, scope: str) -> Select[Any]:
    """First, latest and previous current scored administration of ``instrument`` per patient (index seeks, as
    the overview's outcomes did), and the newest current administration scored or not."""
    scored = (A.patient_id == Patient.id, A.instrument == instrument, A.total.is_not(None), current_assessment())

    def edge(*, newest: bool, skip: int = 0) -> Any:
        order = (A.administered_at.desc(), A.id.desc()) if newest else (A.administered_at, A.id)
        return select(A.id).where(*scored).order_by(*order).limit(1).offset(skip).correlate(Patient).scalar_subquery()

    last_administered = (
        select(func.max(A.administered_at))
        .where(A.patient_id == Patient.id, A.instrument == instrument, current_assessment())
        .correlate(Patient)
        .scalar_subquery()
    )
    edges = (
        select(
            Patient.id.label("patient_id"),
            edge(newest=False).label("baseline_id"),
            edge(newest=True).label("latest_id"),
            edge(newest=True, skip=1).label("previous_id"),
            last_administered.label("last_administered_at"),
        )
        .where(*_limit_to(Patient.id, scope))
        .subquery()
    )
    baseline, latest, previous = aliased(A), aliased(A), aliased(A)
    return (
        select(
            edges.c.patient_id,
            baseline.total.label("baseline_total"),
            baseline.administered_at.label("baseline_at"),
            latest.total.label("latest_total"),
            latest.administered_at.label("latest_at"),
            latest.severity.label("latest_severity"),
            previous.total.label("previous_total"),
            edges.c.last_administered_at,
        )
        .outerjoin(baseline, baseline.id == edges.c.baseline_id)
        .outerjoin(latest, latest.id == edges.c.latest_id)
        .outerjoin(previous, previous.id == edges.c.previous_id)
        .where(edges.c.last_administered_at.is_not(None))
    )


@functools.cache
def _measures_statement(instruments: tuple[str, ...], scope: str) -> CompoundSelect[Any]:
    """Every outcome measure's row in one statement (one round trip): the per-measure statements, joined."""
    parts = [
        _measure_statement(instrument, scope).add_columns(literal(instrument, String).label("measure"))
        for instrument in instruments
    ]
    return union_all(*parts)  # unordered: the rows are written, in any order


def _measure_rows(connection: Connection, patient_ids: Sequence[int] | None) -> list[dict[str, Any]]:
    statement = _measures_statement(tuple(clinical.outcome_instruments()), _scope(patient_ids))
    rows = []
    for row in connection.execute(statement, _parameters(patient_ids)).mappings():
        values = {**row, "percent_reduction": None, "response": None, "remission": None}
        if values["baseline_total"] is not None and values["latest_total"] is not None:
            outcome = clinical.treatment_outcome(values["baseline_total"], values["latest_total"], values["measure"])
            values.update(
                percent_reduction=outcome.percent_reduction, response=outcome.response, remission=outcome.remission
            )
        rows.append(values)
    return rows


def _write(connection: Connection, patient_ids: Sequence[int] | None, now: datetime) -> int:
    summaries = _summary_rows(connection, patient_ids, now)
    measures = _measure_rows(connection, patient_ids)
    last_phq9 = {row["patient_id"]: row["last_administered_at"] for row in measures if row["measure"] == "PHQ-9"}
    for row in summaries:
        row["last_phq9_at"] = last_phq9.get(row["patient_id"])
    if patient_ids is not None and _replaces_every_row(patient_ids, summaries, measures):
        # A refresh that computed every row these patients can have (one summary each, a row per measure each,
        # as after a visit scoring both): overwrite them in place, two statements instead of four.
        dialect = connection.dialect.name
        connection.execute(_upsert_statement(dialect, PatientSummary), summaries)
        connection.execute(_upsert_statement(dialect, PatientMeasureSummary), measures)
        return len(summaries)
    for model in (PatientMeasureSummary, PatientSummary):
        connection.execute(_delete_statement(model, _scope(patient_ids)), _parameters(patient_ids))
    for model, rows in ((PatientSummary, summaries), (PatientMeasureSummary, measures)):
        for start in range(0, len(rows), REBUILD_CHUNK):
            connection.execute(_insert_statement(model), rows[start : start + REBUILD_CHUNK])
    return len(summaries)


def _replaces_every_row(
    patient_ids: Sequence[int], summaries: list[dict[str, Any]], measures: list[dict[str, Any]]
) -> bool:
    """Whether the computed rows cover every summary row the patients may hold, so no old row can be left over."""
    instruments = clinical.outcome_instruments()
    return {row["patient_id"] for row in summaries} == set(patient_ids) and {
        (row["patient_id"], row["measure"]) for row in measures
    } == {(patient_id, instrument) for patient_id in patient_ids for instrument in instruments}


@functools.cache
def _upsert_statement(dialect: str, model: type[PatientSummary] | type[PatientMeasureSummary]) -> Insert:
    table = model.__table__
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)
    return statement.on_conflict_do_update(
        index_elements=[column.name for column in table.primary_key],
        set_={column.name: statement.excluded[column.name] for column in table.columns if not column.primary_key},
    )


@functools.cache
def _delete_statement(model: type[PatientSummary] | type[PatientMeasureSummary], scope: str) -> Delete:
    return delete(model).where(*_limit_to(model.patient_id, scope))


@functools.cache
def _insert_statement(model: type[PatientSummary] | type[PatientMeasureSummary]) -> Insert:
    return insert(model)


_LOCK_PATIENTS = (
    select(Patient.id)
    .where(Patient.id.in_(bindparam("patient_ids", expanding=True)))
    .order_by(Patient.id)
    .with_for_update()
)


def refresh_patient_summary(session: Session, patient_ids: int | Iterable[int], *, rows_locked: bool = False) -> None:
    """Recompute the summaries of the patients a write changed, inside the write's transaction.
    ``rows_locked``: the write has already updated these patients' rows in this transaction (so holds their row
    locks, the same exclusion the lock below takes)."""
    ids = sorted({patient_ids} if isinstance(patient_ids, int) else set(patient_ids))
    if not ids:
        return
    session.flush()  # the write's pending rows are part of what the summary counts
    connection = session.connection()
    if not rows_locked and connection.dialect.name == "postgresql":
        # Lock the patients in id order (never two writers waiting on each other): see the module docstring.
        # SQLite needs no lock: a write transaction holds the database's one write lock.
        connection.execute(_LOCK_PATIENTS, {"patient_ids": ids})
    _write(connection, ids, utcnow())


def rebuild_summaries(connection: Connection) -> int:
    """Recompute every patient's summary from history (in the caller's transaction); returns the patients."""
    if connection.dialect.name == "postgresql":
        # Writers refreshing a summary wait until the rebuild commits; the rebuild waits for writers already
        # refreshing, and then reads their committed history.
        connection.exec_driver_sql(
            "LOCK TABLE patient_summaries, patient_measure_summaries IN SHARE ROW EXCLUSIVE MODE"
        )
    return _write(connection, None, utcnow())


def summaries_missing(connection: Connection) -> bool:
    """True when some patient has no summary (a database from before migration 0014, or a bulk load)."""
    patients = connection.execute(select(func.count()).select_from(Patient)).scalar_one()
    summaries = connection.execute(select(func.count()).select_from(PatientSummary)).scalar_one()
    return patients != summaries
