"""Logging a visit (follow-up or intake): scores, side effects, adherence, vitals, notes, flags and labs."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select, bindparam, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified, set_committed_value
from sqlalchemy.orm.exc import StaleDataError

import clinical
from db.audit import AuditActor, record_event
from db.commands import EditConflict, InvalidInput
from db.commands.flags import RaisedFlag, raise_flags
from db.commands.labs import order_labs
from db.commands.medications import monitoring_due
from db.commands.submissions import claim_submission, settle_submission
from db.engine import utcnow, write_session
from db.models import Assessment, LabOrder, Patient, Prescription, SideEffectReport, Visit, current_assessment
from db.permissions import Actor, require_patient
from db.queries.caseload import program_today
from db.summary import refresh_patient_summary

MAX_NOTE_LENGTH = 10_000
MAX_SHORT_TEXT = 200
VITAL_LIMITS = {
    "weight_kg": (25.0, 350.0),
    "bp_systolic": (60, 260),
    "bp_diastolic": (30, 160),
    "height_cm": (100.0, 230.0),
    "waist_cm": (40.0, 200.0),
    "heart_rate": (25, 250),
}
MAX_DURATION_MINUTES = 240
MAX_MISSED_DOSES = 60
Finding = tuple[clinical.FlagFinding, str, int]  # a rule's finding and the record it came from (table, id)


@dataclass(frozen=True)
class SideEffectEntry:
    drug: str
    symptom: str
    severity: str
    prescription_id: int | None = None
    note: str = ""


@dataclass(frozen=True)
class VisitInput:
    visit_at: datetime  # naive UTC
    modality: str
    duration_minutes: int
    phq9: list[int] | None = None
    gad7: list[int] | None = None
    # The C-SSRS screener (q1..q6 -> bool, q6_months_ago): required at intake, optional at a follow-up visit.
    cssrs: dict[str, Any] | None = None
    # Recorded with a C-SSRS screen; a high-risk screen requires it, at intake and at follow-up alike.
    higher_level_of_care_considered: bool = False
    higher_level_of_care_note: str = ""
    side_effects: list[SideEffectEntry] = field(default_factory=list)
    missed_doses: int | None = None
    weight_kg: float | None = None
    bp_systolic: int | None = None
    bp_diastolic: int | None = None
    height_cm: float | None = None
    waist_cm: float | None = None
    heart_rate: int | None = None
    assessment_note: str = ""
    plan_note: str = ""
    next_visit_due: date | None = None
    visit_type: str = "follow-up"
    details: dict[str, Any] | None = None  # intake: histories, prior trials, reconciliation, plan


@dataclass(frozen=True)
class VisitResult:
    visit_id: int
    scores: list[clinical.InstrumentScore]
    flags_raised: list[tuple[str, str, str]]  # new flags: (severity, kind, summary)
    labs_ordered: list[tuple[str, date]]
    flags_updated: list[tuple[str, str, str]] = field(default_factory=list)  # open flags given this new finding
    previous_totals: dict[str, int] = field(default_factory=dict)  # the newest earlier PHQ-9 / GAD-7 totals

    def summary(self) -> str:
        """What the save did, in the words the user is shown: each score with its severity band and its change
        since the previous score, then the flags and labs."""
        scores = ", ".join(self._describe(score) for score in self.scores) or "no measures"
        parts = [f"Visit saved: {scores}."]
        for severity, kind, _ in self.flags_raised:
            parts.append(f"New {severity} flag: {kind.replace('_', ' ')}.")
        for severity, kind, _ in self.flags_updated:
            parts.append(f"Added to the open {severity} {kind.replace('_', ' ')} flag (back in the triage queue).")
        if not self.flags_raised and not self.flags_updated:
            parts.append("No flags raised.")
        if self.labs_ordered:
            parts.append("Labs ordered: " + ", ".join(f"{test} by {due}" for test, due in self.labs_ordered) + ".")
        return " ".join(parts)

    @property
    def urgent(self) -> bool:
        """Whether the save raised an urgent flag or added its finding to an open one."""
        return any(severity == "urgent" for severity, _, _ in [*self.flags_raised, *self.flags_updated])

    def _describe(self, score: clinical.InstrumentScore) -> str:
        if score.total is None:  # the C-SSRS screener has a risk level, not a total
            return f"{score.instrument} {score.severity} risk"
        text = f"{score.instrument} {score.total} ({score.severity})"
        previous = self.previous_totals.get(score.instrument)
        if previous is not None:
            change = score.total - previous
            text += (
                f" up {change} from {previous}"
                if change > 0
                else f" down {-change} from {previous}"
                if change < 0
                else f" unchanged from {previous}"
            )
        if "self_harm" in score.flags:
            text += " with item 9 positive"
        return text


def _is_whole(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int)


def _is_number(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def validate_visit(
    visit: VisitInput, *, now: datetime, today: date
) -> tuple[dict[str, str], list[clinical.InstrumentScore]]:
    """Every problem with the input, by field (empty if none), and the scores of the answered measures."""
    errors: dict[str, str] = {}
    if visit.visit_at > now + timedelta(minutes=5):
        errors["visit time"] = "cannot be in the future"
    elif visit.visit_at < now - timedelta(days=30):
        errors["visit time"] = "cannot be more than 30 days ago (use an amendment for older records)"
    if visit.modality not in ("video", "phone"):
        errors["modality"] = "must be video or phone"
    if not (_is_whole(visit.duration_minutes) and 1 <= visit.duration_minutes <= MAX_DURATION_MINUTES):
        errors["duration"] = f"must be a whole number of minutes from 1 to {MAX_DURATION_MINUTES}"
    if visit.visit_type not in ("follow-up", "intake"):
        errors["visit type"] = "must be follow-up or intake"
    scores: list[clinical.InstrumentScore] = []
    for instrument, answers in (("PHQ-9", visit.phq9), ("GAD-7", visit.gad7)):
        if answers is None:
            continue
        try:
            scores.append(clinical.score_instrument(instrument, list(answers)))
        except ValueError as error:
            errors[instrument] = str(error)
    if visit.cssrs is not None:
        try:
            screen = clinical.score_instrument("C-SSRS screener", dict(visit.cssrs))
        except ValueError as error:
            errors["C-SSRS screener"] = str(error)
        else:
            scores.append(screen)
            if screen.severity == "high" and not visit.higher_level_of_care_considered:
                errors["higher level of care"] = (
                    "a high-risk C-SSRS screen requires recording that a higher level of care was considered"
                )
    if len(visit.higher_level_of_care_note) > MAX_NOTE_LENGTH:
        errors["higher level of care note"] = f"at most {MAX_NOTE_LENGTH} characters"
    for index, effect in enumerate(visit.side_effects, start=1):
        if effect.severity not in ("mild", "moderate", "severe"):
            errors[f"side effect {index} severity"] = "must be mild, moderate or severe"
        if not effect.symptom.strip() or len(effect.symptom) > MAX_SHORT_TEXT:
            errors[f"side effect {index} symptom"] = f"is required (at most {MAX_SHORT_TEXT} characters)"
    if visit.missed_doses is not None and not (
        _is_whole(visit.missed_doses) and 0 <= visit.missed_doses <= MAX_MISSED_DOSES
    ):
        errors["missed doses"] = f"must be 0 to {MAX_MISSED_DOSES}"
    for name, (low, high) in VITAL_LIMITS.items():
        value = getattr(visit, name)
        if value is not None and not (_is_number(value) and low <= value <= high):
            errors[name.replace("_", " ")] = f"must be between {low:g} and {high:g}"
    if (visit.bp_systolic is None) != (visit.bp_diastolic is None):
        errors["blood pressure"] = "enter both systolic and diastolic, or neither"
    elif visit.bp_systolic is not None and visit.bp_diastolic is not None and visit.bp_systolic <= visit.bp_diastolic:
        errors["blood pressure"] = "systolic must be higher than diastolic"
    for name, text in (("assessment note", visit.assessment_note), ("plan note", visit.plan_note)):
        if len(text) > MAX_NOTE_LENGTH:
            errors[name] = f"at most {MAX_NOTE_LENGTH} characters (got {len(text)})"
    if visit.next_visit_due is not None and not (today <= visit.next_visit_due <= today + timedelta(days=180)):
        errors["next visit due"] = "must be from today to 180 days ahead"
    return errors, scores


@functools.cache
def _previous_totals_statement(bounded: bool) -> Select[Any]:
    """Built once per shape (parameters ``patient_id``, and ``before`` when bounded): building it per save cost
    more CPU than running it."""
    patient = bindparam("patient_id")
    conditions = [
        Assessment.patient_id == patient,
        Assessment.instrument.in_(("PHQ-9", "GAD-7")),
        current_assessment(),  # a corrected self-report counts once, as its correction
    ]
    if bounded:
        conditions.append(Assessment.administered_at < bindparam("before"))
    newest = (
        select(Assessment.instrument, func.max(Assessment.administered_at).label("at"))
        .where(*conditions)
        .group_by(Assessment.instrument)
        .subquery()
    )
    return (
        select(Assessment.instrument, Assessment.total)
        .join(newest, (newest.c.instrument == Assessment.instrument) & (newest.c.at == Assessment.administered_at))
        .where(Assessment.patient_id == patient, current_assessment())
    )


def previous_totals(session: Session, patient_id: int, *, before: datetime | None = None) -> dict[str, int]:
    """The newest PHQ-9 and GAD-7 totals (taken before ``before``, if given): what a new score is compared with."""
    parameters: dict[str, Any] = {"patient_id": patient_id}
    if before is not None:
        parameters["before"] = before
    rows = session.execute(_previous_totals_statement(before is not None), parameters).all()
    return {instrument: total for instrument, total in rows if total is not None}


def log_visit(
    actor: Actor,
    patient_id: int,
    visit: VisitInput,
    *,
    expected_patient_version: int,
    submission: str | None = None,
    engine: Engine | None = None,
) -> VisitResult:
    """Save a visit and everything it implies, in one transaction, or nothing at all. ``submission`` is the
    form's one-time token: a repeat of the same submission raises ``AlreadySubmitted`` and writes nothing."""
    now = utcnow()
    today = program_today()
    errors, scores = validate_visit(visit, now=now, today=today)
    if errors:
        raise InvalidInput(errors)
    with write_session(engine) as session:
        patient = require_patient(session, actor, patient_id, "log_visit")
        claim = claim_submission(session, actor, submission, "log_visit")
        if patient.version != expected_patient_version:
            raise EditConflict(
                "This patient's record was changed by someone else after you opened the form "
                "(for example another visit was logged). Nothing was saved; reload and try again."
            )
        result = save_visit(session, actor, patient, visit, scores)
        settle_submission(claim, record_type="visit", record_id=result.visit_id, outcome=result.summary())
        return result


def save_visit(
    session: Session, actor: Actor, patient: Patient, visit: VisitInput, scores: list[clinical.InstrumentScore]
) -> VisitResult:
    """Write a validated visit, its scores and side effects, the flags and labs they call for, and the audit
    event, inside the caller's transaction (used by log_visit and by the intake evaluation)."""
    today = program_today()
    previous = previous_totals(session, patient.id)
    details = dict(visit.details or {})
    screen = next((score for score in scores if score.instrument == "C-SSRS screener"), None)
    if screen is not None:
        # Stored the same way at intake and at follow-up: the risk level and the level-of-care decision.
        details["cssrs_risk"] = screen.severity
        details["higher_level_of_care_considered"] = visit.higher_level_of_care_considered
        details["higher_level_of_care_note"] = visit.higher_level_of_care_note.strip()
    active = {
        p.id: p
        for p in session.scalars(
            select(Prescription).where(Prescription.patient_id == patient.id, Prescription.status == "active")
        )
    }
    # Plain INSERTs (here and for the scores): the rows are not changed again in this transaction, and the ORM's
    # unit of work cost more CPU than the statements. Whatever the session holds is written first, as before.
    session.flush()
    visit_id = session.connection().execute(
        _INSERT_VISIT,
        {
            "patient_id": patient.id,
            "clinician_id": actor.user_id,
            "visit_type": visit.visit_type,
            "visit_at": visit.visit_at,
            "modality": visit.modality,
            "duration_minutes": int(visit.duration_minutes),
            "missed_doses": visit.missed_doses,
            "weight_kg": visit.weight_kg,
            "bp_systolic": visit.bp_systolic,
            "bp_diastolic": visit.bp_diastolic,
            "height_cm": visit.height_cm,
            "waist_cm": visit.waist_cm,
            "heart_rate": visit.heart_rate,
            "assessment_note": visit.assessment_note.strip() or None,
            "plan_note": visit.plan_note.strip() or None,
            "details": details or None,
            "next_visit_due": visit.next_visit_due,
        },
    ).scalar_one()
    findings = store_reports(
        session,
        patient.id,
        previous=previous,
        scores=scores,
        answers={"PHQ-9": visit.phq9, "GAD-7": visit.gad7, "C-SSRS screener": visit.cssrs},
        side_effects=visit.side_effects,
        active=active,
        reported_at=visit.visit_at,
        source="visit",
        visit_id=visit_id,
        entered_by_id=actor.user_id,
    )
    if visit.missed_doses:
        findings += missed_dose_findings(int(visit.missed_doses), source=("visits", visit_id))
    if visit.weight_kg is not None:
        baseline = _baseline_weight(session, patient.id, visit_id)
        if baseline is not None:
            finding = clinical.flag_for_weight_gain([p.drug for p in active.values()], baseline, visit.weight_kg)
            if finding is not None:
                findings.append((finding, "visits", visit_id))
    raised = raise_findings(session, actor, patient.id, findings, raised_at=visit.visit_at)
    labs = _maintenance_labs(session, actor, patient, list(active.values()), today)
    try:
        _advance_patient_version(session, patient, visit.next_visit_due)
    except StaleDataError as error:
        raise EditConflict(
            "This patient's record was changed by someone else a moment ago. Nothing was saved; reload and try again."
        ) from error
    refresh_patient_summary(session, patient.id, rows_locked=True)  # the version update above locked the row
    record_event(
        session,
        actor,
        "log_visit",
        patient_id=patient.id,
        data_category="visit",
        record_type="visit",
        record_id=visit_id,
        detail=f"{visit.visit_type} {visit.modality}, {len(scores)} measures, "
        + (f"C-SSRS {screen.severity} risk, " if screen is not None else "")
        + ("higher level of care considered, " if screen is not None and visit.higher_level_of_care_considered else "")
        + f"{sum(o.is_new for o in raised)} new flags, {sum(not o.is_new for o in raised)} open flags updated, "
        f"{len(labs)} labs ordered",
    )
    return VisitResult(
        visit_id=visit_id,
        scores=scores,
        flags_raised=[(o.flag.severity, o.flag.kind, o.flag.summary) for o in raised if o.is_new],
        labs_ordered=[(lab.test, lab.due_by) for lab in labs],
        flags_updated=[(o.flag.severity, o.flag.kind, o.flag.summary) for o in raised if not o.is_new],
        previous_totals=previous,
    )


def _advance_patient_version(session: Session, patient: Patient, next_visit_due: date | None) -> None:
    """Every visit updates the patient row (advancing its version), so a form opened before it is refused; the
    UPDATE names the version this transaction read, so a change that slipped in raises StaleDataError."""
    if session.is_modified(patient):  # changed earlier in this transaction: one versioned ORM update for all
        if next_visit_due is not None:
            patient.next_visit_due = next_visit_due
        flag_modified(patient, "next_visit_due")
        session.flush()
        return
    session.flush()  # whatever else the session holds is written first, as before
    due = patient.next_visit_due if next_visit_due is None else next_visit_due
    # A plain UPDATE rather than the ORM's versioned flush (the same statement, less CPU).
    updated = session.connection().execute(
        _ADVANCE_PATIENT_VERSION, {"patient_id": patient.id, "read_version": patient.version, "due": due}
    )
    if updated.rowcount != 1:
        raise StaleDataError(f"patient {patient.id} changed since version {patient.version} was read")
    set_committed_value(patient, "version", patient.version + 1)
    set_committed_value(patient, "next_visit_due", due)


_ADVANCE_PATIENT_VERSION = (
    Patient.__table__.update()
    .where(Patient.__table__.c.id == bindparam("patient_id"), Patient.__table__.c.version == bindparam("read_version"))
    .values(version=Patient.__table__.c.version + 1, next_visit_due=bindparam("due"))
)


def store_reports(
    session: Session,
    patient_id: int,
    *,
    scores: list[clinical.InstrumentScore],
    answers: dict[str, Any],
    side_effects: list[SideEffectEntry],
    active: dict[int, Prescription],
    reported_at: datetime,
    source: str,
    visit_id: int | None = None,
    entered_by_id: int | None = None,
    external_ids: dict[str, str] | None = None,
    previous: dict[str, int] | None = None,
) -> list[Finding]:
    """Store validated scores and side-effect reports (inside the caller's transaction) and return the findings
    the flag rules make of them. One path for a visit and for a patient's own check-in, so both raise the same
    flags: self-harm and rises by the score rules, red-flag and severe side effects by the side-effect rule.
    ``previous`` (the newest earlier totals, read here when not given) is what a rise is measured from."""
    if previous is None:
        previous = previous_totals(session, patient_id)
    findings: list[Finding] = []
    if scores:
        session.flush()  # whatever the session holds is written first, as an ORM flush would
        rows = [
            {
                "patient_id": patient_id,
                "instrument": score.instrument,
                "answers": answers[score.instrument],
                "total": score.total,
                "severity": score.severity,
                "administered_at": reported_at,
                "source": source,
                "visit_id": visit_id,
                "entered_by_id": entered_by_id,
                "external_id": (external_ids or {}).get(score.instrument),
                "supersedes_id": None,
                "retracted_at": None,
                "retracted_reason": None,
                "retracted_by_id": None,
            }
            for score in scores
        ]
        # One statement for all the scores on PostgreSQL; ids in the order of the rows.
        assessment_ids = session.connection().execute(_INSERT_ASSESSMENTS, rows).scalars().all()
        for score, assessment_id in zip(scores, assessment_ids, strict=True):
            for finding in clinical.flags_for_score(score, previous.get(score.instrument)):
                findings.append((finding, "assessments", assessment_id))
    for effect in side_effects:
        prescription = active.get(effect.prescription_id or -1)
        report = SideEffectReport(
            patient_id=patient_id,
            prescription_id=prescription.id if prescription else None,
            drug=prescription.drug if prescription else effect.drug,
            symptom=effect.symptom.strip(),
            severity=effect.severity,
            reported_at=reported_at,
            source=source,
            visit_id=visit_id,
            note=effect.note.strip() or None,
        )
        session.add(report)
        session.flush()
        finding = clinical.flag_for_side_effect(report.drug, report.symptom, report.severity)
        if finding is not None:
            findings.append((finding, "side_effect_reports", report.id))
    return findings


_INSERT_VISIT = Visit.__table__.insert().returning(Visit.__table__.c.id)
_INSERT_ASSESSMENTS = Assessment.__table__.insert().returning(Assessment.__table__.c.id, sort_by_parameter_order=True)


def missed_dose_findings(missed_doses: int, *, source: tuple[str, int]) -> list[Finding]:
    finding = clinical.flag_for_missed_doses(missed_doses)
    return [] if finding is None else [(finding, *source)]


def raise_findings(
    session: Session, actor: AuditActor | None, patient_id: int, findings: list[Finding], *, raised_at: datetime
) -> list[RaisedFlag]:
    """Open (or add to) the flag of each finding, naming the record it came from."""
    raised: list[RaisedFlag] = []
    for finding, table, source_id in findings:
        raised += raise_flags(
            session, actor, patient_id, [finding], source_table=table, source_id=source_id, raised_at=raised_at
        )
    return raised


def _baseline_weight(session: Session, patient_id: int, current_visit_id: int) -> float | None:
    """The first weight recorded in the program (ADA/APA 2004 measures gain from the baseline)."""
    return session.scalar(
        select(Visit.weight_kg)
        .where(Visit.patient_id == patient_id, Visit.weight_kg.is_not(None), Visit.id != current_visit_id)
        .order_by(Visit.visit_at, Visit.id)
        .limit(1)
    )


def _maintenance_labs(
    session: Session, actor: Actor, patient: Patient, active: list[Prescription], today: date
) -> list[LabOrder]:
    ordered: list[LabOrder] = []
    for prescription in active:
        if not prescription.is_psychiatric or clinical.resolve_drug(prescription.drug) is None:
            continue
        weeks = max(0, (today - prescription.start_date).days // 7)
        due = [
            lab
            for lab in monitoring_due(prescription.drug, "maintenance", patient, today, weeks_on_treatment=weeks)
            if lab.kind == "lab" and lab.due_by <= today + timedelta(days=14)
        ]
        ordered += order_labs(session, actor, patient.id, due, drug=prescription.drug, prescription_id=prescription.id)
    return ordered


__all__ = [
    "SideEffectEntry",
    "VisitInput",
    "VisitResult",
    "log_visit",
    "missed_dose_findings",
    "raise_findings",
    "store_reports",
    "validate_visit",
]
