"""Raising flags from the rules engine's findings, and the nurse's triage actions on them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, bindparam, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import clinical
from db.audit import AuditActor, record_event
from db.commands import EditConflict, InvalidInput
from db.commands.submissions import claim_submission, settle_submission
from db.engine import read_session, serialize_writes_on, utcnow, write_session
from db.models import Flag, FlagEvent, LabOrder, User
from db.permissions import Actor, require_patient
from db.summary import refresh_patient_summary

MAX_NOTE_LENGTH = 4000


def severity_rank(severity: str) -> int:
    return clinical.SEVERITY_ORDER.index(severity)


@dataclass(frozen=True)
class RaisedFlag:
    """A finding's outcome: a new flag, or a new finding recorded on the open flag for the same cause."""

    flag: Flag
    is_new: bool

    def describe(self) -> str:
        what = f"{self.flag.severity} {self.flag.kind.replace('_', ' ')}"
        if self.is_new:
            return f"new {what} flag"
        return f"{what} flag already open: this finding was added to it ({self.flag.state})"


# Built once (a visit or check-in checks each finding against the open flags).
_OPEN_FLAG_FOR_CAUSE = select(Flag).where(
    Flag.patient_id == bindparam("patient_id"), Flag.cause == bindparam("cause"), Flag.is_open.is_(True)
)
_FINDING_RECORDED = select(FlagEvent.id).where(
    FlagEvent.flag_id == bindparam("flag_id"),
    FlagEvent.source_table == bindparam("source_table"),
    FlagEvent.source_id == bindparam("source_id"),
)
_FINDING_RECORDED_NO_TABLE = select(FlagEvent.id).where(
    FlagEvent.flag_id == bindparam("flag_id"),
    FlagEvent.source_table.is_(None),
    FlagEvent.source_id == bindparam("source_id"),
)


def raise_flags(
    session: Session,
    actor: AuditActor | Actor | None,
    patient_id: int,
    findings: Iterable[clinical.FlagFinding],
    *,
    source_table: str | None = None,
    source_id: int | None = None,
    raised_at: datetime | None = None,
) -> list[RaisedFlag]:
    """Open a flag for each finding (inside the caller's transaction), or, when one is already open for the same
    cause, record the new finding on it. A repeated positive self-harm answer is never absorbed silently: the
    open flag gets a history event naming the new record, its summary and response target are renewed, an
    acknowledged flag goes back to open, and a more severe finding raises its severity. The same source record
    is recorded once. A concurrent writer opening the same cause is caught by the unique constraint."""
    outcomes: list[RaisedFlag] = []
    now = utcnow()
    for finding in findings:
        existing = session.scalar(_OPEN_FLAG_FOR_CAUSE, {"patient_id": patient_id, "cause": finding.cause})
        if existing is not None:
            if _record_repeat_finding(session, actor, existing, finding, source_table, source_id, raised_at or now):
                outcomes.append(RaisedFlag(existing, is_new=False))
            continue
        flag = Flag(
            patient_id=patient_id,
            kind=finding.kind,
            severity=finding.severity,
            severity_rank=severity_rank(finding.severity),
            cause=finding.cause,
            summary=finding.summary,
            source_table=source_table,
            source_id=source_id,
            state="open",
            is_open=True,
            raised_at=raised_at or now,
            last_finding_at=raised_at or now,
            finding_count=1,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(flag)
                session.flush()
        except IntegrityError:
            continue  # another transaction opened the same flag a moment ago
        session.add(
            FlagEvent(
                flag_id=flag.id,
                actor_id=actor.user_id if actor else None,
                action="raised",
                note=finding.summary,
                source_table=source_table,
                source_id=source_id,
            )
        )
        record_event(
            session,
            actor,
            "flag_raised",
            patient_id=patient_id,
            data_category="flag",
            record_type="flag",
            record_id=flag.id,
            detail=f"{finding.severity} {finding.kind}",
        )
        outcomes.append(RaisedFlag(flag, is_new=True))
    return outcomes


def _record_repeat_finding(
    session: Session,
    actor: AuditActor | Actor | None,
    flag: Flag,
    finding: clinical.FlagFinding,
    source_table: str | None,
    source_id: int | None,
    found_at: datetime,
) -> bool:
    """Add a new finding to an open flag; False if this very record was already recorded on it."""
    if source_id is not None:
        if (flag.source_table, flag.source_id) == (source_table, source_id):
            return False
        seen = session.scalar(
            _FINDING_RECORDED if source_table is not None else _FINDING_RECORDED_NO_TABLE,
            {"flag_id": flag.id, "source_table": source_table, "source_id": source_id},
        )
        if seen is not None:
            return False
    now = utcnow()
    previous_state = flag.state
    flag.summary = finding.summary
    flag.finding_count = (flag.finding_count or 1) + 1
    flag.last_finding_at = max(found_at, flag.last_finding_at or flag.raised_at)
    if severity_rank(finding.severity) < flag.severity_rank:
        flag.severity = finding.severity
        flag.severity_rank = severity_rank(finding.severity)
    if flag.state == "acknowledged":
        flag.state = "open"  # someone must look again: back into the queue with a fresh response target
    flag.updated_at = now
    flag.updated_by_id = actor.user_id if actor else None
    session.add(
        FlagEvent(
            flag_id=flag.id,
            actor_id=actor.user_id if actor else None,
            action="new_finding",
            note=finding.summary + (" (reopened: it had been acknowledged)" if previous_state != flag.state else ""),
            source_table=source_table,
            source_id=source_id,
            at=now,
        )
    )
    session.flush()
    record_event(
        session,
        actor,
        "flag_new_finding",
        patient_id=flag.patient_id,
        data_category="flag",
        record_type="flag",
        record_id=flag.id,
        detail=f"{flag.severity} {flag.kind}: finding {flag.finding_count}"
        + (f" from {source_table} {source_id}" if source_id is not None else "")
        + (f"; {previous_state} -> {flag.state}" if previous_state != flag.state else ""),
    )
    return True


RETRACTED_CLOSE_NOTE = "Closed: the report that raised it was entered in error"
FINDING_FROM_RETRACTED = "finding_withdrawn"  # a flag event: one of its findings came from a withdrawn record


@dataclass(frozen=True)
class WithdrawnFindings:
    """What withdrawing records did to the flags they had raised or added findings to."""

    closed: list[Flag]  # every finding came from the withdrawn records: resolved with a note
    kept_open: list[Flag]  # other findings remain: open still, with an event noting the withdrawal


def withdraw_findings(
    session: Session,
    actor: Actor | None,
    patient_id: int,
    *,
    source_table: str,
    source_ids: set[int],
    withdrawn_before: set[int] | frozenset[int] = frozenset(),
    why: str,
) -> WithdrawnFindings:
    """Inside the caller's transaction: for each unresolved flag of the patient that has a finding from one of
    ``source_ids`` (its first finding, or a ``raised``/``new_finding`` event naming the record), close the flag
    when every finding came from those records or from ``withdrawn_before`` (records of the same table withdrawn
    earlier), else note on it that one finding was withdrawn. A finding whose
    record is unknown (a flag from before sources were recorded) counts as another finding, so such a flag stays
    open. Flags already resolved are left as they are."""
    withdrawn_now = {(source_table, source_id) for source_id in source_ids}
    withdrawn = withdrawn_now | {(source_table, source_id) for source_id in withdrawn_before}
    flags = session.scalars(
        select(Flag).where(Flag.patient_id == patient_id, Flag.is_open.is_(True)).order_by(Flag.id)
    ).all()
    if not flags:
        return WithdrawnFindings([], [])
    findings: dict[int, set[tuple[str | None, int | None]]] = {
        flag.id: {(flag.source_table, flag.source_id)} for flag in flags
    }
    for flag_id, table, record_id in session.execute(
        select(FlagEvent.flag_id, FlagEvent.source_table, FlagEvent.source_id).where(
            FlagEvent.flag_id.in_(findings), FlagEvent.action.in_(("raised", "new_finding"))
        )
    ):
        findings[flag_id].add((table, record_id))
    now = utcnow()
    closed: list[Flag] = []
    kept_open: list[Flag] = []
    for flag in flags:
        sources = findings[flag.id]
        if not sources & withdrawn_now:
            continue
        if sources <= withdrawn:
            note = f"{RETRACTED_CLOSE_NOTE} ({why})."
            flag.state, flag.is_open, flag.resolved_at, flag.resolution_note = "resolved", None, now, note
            action, audit_action = "resolve", "flag_resolve"
            detail = f"{flag.severity} {flag.kind}: closed, every finding came from a withdrawn {source_table} record"
            closed.append(flag)
        else:
            note = (
                f"One finding came from a report entered in error ({why}); the flag stays "
                f"{flag.state} for its other findings."
            )
            action, audit_action = FINDING_FROM_RETRACTED, "flag_finding_withdrawn"
            detail = f"{flag.severity} {flag.kind}: a finding was withdrawn; other findings keep it {flag.state}"
            kept_open.append(flag)
        flag.updated_at, flag.updated_by_id = now, actor.user_id if actor else None
        session.add(
            FlagEvent(
                flag_id=flag.id,
                actor_id=actor.user_id if actor else None,
                action=action,
                note=note,
                source_table=None,
                source_id=None,
                at=now,
            )
        )
        session.flush()
        record_event(
            session,
            actor,
            audit_action,
            patient_id=patient_id,
            data_category="flag",
            record_type="flag",
            record_id=flag.id,
            detail=detail,
        )
    return WithdrawnFindings(closed, kept_open)


TRIAGE_TRANSITIONS = {
    # action: (states it may start from, state it leads to)
    "take_ownership": ({"open", "acknowledged", "escalated"}, None),
    "acknowledge": ({"open", "escalated"}, "acknowledged"),
    "escalate": ({"open", "acknowledged"}, "escalated"),
    "resolve": ({"open", "acknowledged", "escalated"}, "resolved"),
}
NOTE_REQUIRED = {"acknowledge", "resolve", "escalate"}


def act_on_flag(
    actor: Actor,
    flag_id: int,
    action: str,
    *,
    expected_version: int,
    note: str = "",
    submission: str | None = None,
    engine: Engine | None = None,
) -> Flag:
    """Take ownership of, acknowledge, escalate or resolve a flag.

    The UPDATE succeeds only if the flag still has the version the user saw, so of two people acting on
    the same flag at once exactly one succeeds; the other is told who acted and when.
    """
    if action not in TRIAGE_TRANSITIONS:
        raise InvalidInput({"action": f"unknown action {action!r}"})
    note = (note or "").strip()
    if action in NOTE_REQUIRED and not note:
        raise InvalidInput({"note": f"a note is required to {action} a flag"})
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidInput({"note": f"at most {MAX_NOTE_LENGTH} characters (got {len(note)})"})
    allowed_from, new_state = TRIAGE_TRANSITIONS[action]
    now = utcnow()
    with write_session(engine) as session:
        flag = session.get(Flag, flag_id)
        if flag is None:
            raise InvalidInput({"flag": "no such flag"})
        require_patient(session, actor, flag.patient_id, "triage_flag")
        claim = claim_submission(session, actor, submission, "act_on_flag")
        if flag.version != expected_version:
            raise EditConflict(_conflict_message(session, flag))
        if flag.state not in allowed_from:
            raise InvalidInput({"action": f"a flag that is {flag.state} cannot be given '{action}'"})
        if action == "take_ownership" and flag.owner_id == actor.user_id:
            raise InvalidInput({"action": "you already own this flag"})
        values: dict[str, object] = {"version": flag.version + 1, "updated_at": now, "updated_by_id": actor.user_id}
        if action == "take_ownership" or flag.owner_id is None:
            values["owner_id"] = actor.user_id
        if new_state:
            values["state"] = new_state
        if action == "acknowledge":
            values["acknowledged_at"] = now
        elif action == "escalate":
            values["escalated_at"] = now
        elif action == "resolve":
            values.update(resolved_at=now, resolution_note=note, is_open=None)
        result = session.execute(
            update(Flag)
            .where(Flag.id == flag_id, Flag.version == expected_version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            session.rollback()
            with read_session(engine) as fresh:
                raise EditConflict(_conflict_message(fresh, fresh.get(Flag, flag_id)))
        session.add(FlagEvent(flag_id=flag_id, actor_id=actor.user_id, action=action, note=note or None, at=now))
        refresh_patient_summary(session, flag.patient_id)
        record_event(
            session,
            actor,
            f"flag_{action}",
            patient_id=flag.patient_id,
            data_category="flag",
            record_type="flag",
            record_id=flag_id,
        )
        settle_submission(
            claim, record_type="flag", record_id=flag_id, outcome=f"{action.replace('_', ' ')} on flag {flag_id}."
        )
        session.flush()
        session.refresh(flag)
        return flag


def _conflict_message(session: Session, flag: Flag | None) -> str:
    if flag is None:
        return "This flag no longer exists."
    who = session.scalar(select(User.full_name).where(User.id == flag.updated_by_id)) if flag.updated_by_id else None
    when = flag.updated_at.strftime("%Y-%m-%d %H:%M UTC") if flag.updated_at else "just now"
    return (
        f"{who or 'Someone'} already changed this flag ({flag.state}) at {when}. "
        "Nothing was saved; the queue shows the current state."
    )


def raise_overdue_lab_flags(*, today: date | None = None, engine: Engine | None = None) -> int:
    """Raise a flag for every pending lab overdue by more than the grace period (idempotent: one open flag
    per cause). Run by each server's background sweep and by ``python -m db.sweep``; two statements plus a few per
    new flag."""
    from db.queries.caseload import program_today
    from db.settings import get_settings

    today = today or program_today()
    grace = get_settings().overdue_lab_grace_days
    with write_session(engine) as session:
        candidates = session.execute(
            select(LabOrder.id, LabOrder.patient_id, LabOrder.test, LabOrder.due_by)
            .where(LabOrder.status == "pending", LabOrder.due_by < today - timedelta(days=grace))
            .where(
                ~exists().where(
                    Flag.patient_id == LabOrder.patient_id,
                    Flag.kind == "overdue_lab",
                    Flag.source_id == LabOrder.id,
                    Flag.is_open.is_(True),
                )
            )
        ).all()
        raised = 0
        # In patient order: a write holds one patient's lock, so sweeps never wait on it in a cycle.
        for order_id, patient_id, test, due_by in sorted(candidates, key=lambda candidate: candidate.patient_id):
            # The patient's writes queue with this one from here on: a lab resulted a moment ago is not flagged.
            serialize_writes_on(session, "patient", patient_id)
            if session.scalar(select(LabOrder.status).where(LabOrder.id == order_id)) != "pending":
                continue
            finding = clinical.flag_for_overdue_lab(test, due_by, on=today, grace_days=grace)
            if finding is not None:
                outcomes = raise_flags(
                    session, None, patient_id, [finding], source_table="lab_orders", source_id=order_id
                )
                raised += sum(outcome.is_new for outcome in outcomes)
        refresh_patient_summary(session, {patient_id for _, patient_id, _, _ in candidates})
        return raised
