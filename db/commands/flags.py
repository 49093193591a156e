"""Raising flags from the rules engine's findings, and the nurse's triage actions on them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import clinical
from db.audit import record_event
from db.commands import EditConflict, InvalidInput
from db.engine import read_session, utcnow, write_session
from db.models import Flag, FlagEvent, LabOrder, User
from db.permissions import Actor, require_patient

MAX_NOTE_LENGTH = 4000


def severity_rank(severity: str) -> int:
    return clinical.SEVERITY_ORDER.index(severity)


def raise_flags(
    session: Session,
    actor: Actor | None,
    patient_id: int,
    findings: Iterable[clinical.FlagFinding],
    *,
    source_table: str | None = None,
    source_id: int | None = None,
    raised_at: datetime | None = None,
) -> list[Flag]:
    """Open a flag for each finding unless one is already open for the same cause (inside the caller's
    transaction). A concurrent writer raising the same cause is caught by the unique constraint."""
    raised: list[Flag] = []
    for finding in findings:
        already_open = session.scalar(
            select(Flag.id).where(Flag.patient_id == patient_id, Flag.cause == finding.cause, Flag.is_open.is_(True))
        )
        if already_open is not None:
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
            raised_at=raised_at or utcnow(),
            updated_at=utcnow(),
        )
        try:
            with session.begin_nested():
                session.add(flag)
                session.flush()
        except IntegrityError:
            continue  # another transaction opened the same flag a moment ago
        session.add(
            FlagEvent(flag_id=flag.id, actor_id=actor.user_id if actor else None, action="raised", note=finding.summary)
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
        raised.append(flag)
    return raised


TRIAGE_TRANSITIONS = {
    # action: (states it may start from, state it leads to)
    "take_ownership": ({"open", "acknowledged", "escalated"}, None),
    "acknowledge": ({"open", "escalated"}, "acknowledged"),
    "escalate": ({"open", "acknowledged"}, "escalated"),
    "resolve": ({"open", "acknowledged", "escalated"}, "resolved"),
}
NOTE_REQUIRED = {"acknowledge", "resolve", "escalate"}


def act_on_flag(
    actor: Actor, flag_id: int, action: str, *, expected_version: int, note: str = "", engine: Engine | None = None
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
        if flag.version != expected_version:
            raise EditConflict(_conflict_message(session, flag))
        if flag.state not in allowed_from:
            raise InvalidInput({"action": f"a flag that is {flag.state} cannot be given '{action}'"})
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
        record_event(
            session,
            actor,
            f"flag_{action}",
            patient_id=flag.patient_id,
            data_category="flag",
            record_type="flag",
            record_id=flag_id,
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
    per cause). Run by the triage page and by ``python -m db.sweep``; two statements plus one per new flag."""
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
        for order_id, patient_id, test, due_by in candidates:
            finding = clinical.flag_for_overdue_lab(test, due_by, on=today, grace_days=grace)
            if finding is not None:
                raised += len(
                    raise_flags(session, None, patient_id, [finding], source_table="lab_orders", source_id=order_id)
                )
        return raised
