"""Check-in links: a prescriber or nurse sends a patient a one-time link to answer the measures due between
visits (PHQ-9, GAD-7, side effects, missed doses); the patient answers on a phone, without an account.

A link is bound to one patient and one set of measures, works once and until it expires, and can be revoked.
Only the SHA-256 of its random token is stored. The token is checked on the server on every use, and again in
the transaction that stores the answers, which spends the link with a conditional UPDATE: of two concurrent
submits exactly one writes. Every use is audited: sending, revoking, opening, submitting and each refusal
(unknown, expired, used, revoked). The patient's answers are stored as self-reports and go through the same
storage and flag rules as a visit's (``db.commands.visits.store_reports``), so a positive PHQ-9 item 9 raises
the urgent self-harm flag at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

import clinical
from clinical.flags import SIDE_EFFECT_SEVERITIES
from db.audit import AuditActor, record_event
from db.commands import InvalidInput
from db.commands.fhir import SELF_REPORT_SOURCE
from db.commands.submissions import claim_submission, settle_submission
from db.commands.visits import (
    MAX_MISSED_DOSES,
    MAX_SHORT_TEXT,
    SideEffectEntry,
    missed_dose_findings,
    raise_findings,
    store_reports,
)
from db.engine import read_session, serialize_writes_on, utcnow, write_session
from db.models import Patient, PatientCheckinLink, Prescription
from db.permissions import Actor, require_patient
from db.settings import get_settings
from db.summary import refresh_patient_summary

PHQ9, GAD7, SIDE_EFFECTS, MISSED_DOSES = "PHQ-9", "GAD-7", "side_effects", "missed_doses"
CHECKIN_MEASURES: tuple[str, ...] = (PHQ9, GAD7, SIDE_EFFECTS, MISSED_DOSES)
MEASURE_LABELS = {
    PHQ9: "PHQ-9 (mood)",
    GAD7: "GAD-7 (anxiety)",
    SIDE_EFFECTS: "Side effects",
    MISSED_DOSES: "Missed doses (past week)",
}
MIN_LINK_HOURS, MAX_LINK_HOURS = 1, 168
MAX_PATIENT_SIDE_EFFECTS = 5
# Who did it, in the audit trail, when a patient acts through a link: no account, so no user id.
PATIENT_LINK_ACTOR = AuditActor(user_id=None, username="patient-link", role="patient")
# A side effect the patient reports without naming a medicine, when it cannot be tied to one (several active).
UNNAMED_MEDICATION = "medication not named"
_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")

UNKNOWN, EXPIRED, USED, REVOKED, CLOSED = "unknown", "expired", "used", "revoked", "closed"
# What the patient reads when a link does not work: nothing about the patient or the chart.
REFUSAL_MESSAGES = {
    UNKNOWN: "This link is not valid. Please check that you opened the whole link, or ask your care team "
    "for a new one.",
    EXPIRED: "This link has expired. Please ask your care team for a new one.",
    USED: "This link has already been used: your answers were sent once, and each link works only once. "
    "If you want to tell your care team something else, please contact them.",
    REVOKED: "This link was withdrawn by your care team. Please ask them for a new one.",
    CLOSED: "This link is no longer active. If you need to reach your care team, please contact them.",
}


class LinkRefused(Exception):
    """The link cannot be used (``reason`` is unknown, expired, used or revoked); the message is for the patient."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(REFUSAL_MESSAGES[reason])


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SentLink:
    """A new link. ``token`` exists only here, for the sender to pass on: the database keeps its hash."""

    link_id: int
    token: str
    expires_at: datetime
    measures: tuple[str, ...]


@dataclass(frozen=True)
class OpenLink:
    """What the patient's page needs of a live link: which measures to ask, until when."""

    link_id: int
    measures: tuple[str, ...]
    expires_at: datetime


@dataclass(frozen=True)
class PatientSideEffect:
    symptom: str
    severity: str  # mild, moderate or severe, as at a visit


@dataclass(frozen=True)
class CheckinAnswers:
    phq9: list[int] | None = None
    gad7: list[int] | None = None
    side_effects: list[PatientSideEffect] = field(default_factory=list)
    missed_doses: int | None = None


@dataclass(frozen=True)
class CheckinResult:
    scores: list[clinical.InstrumentScore]
    self_harm: bool  # PHQ-9 item 9 above 0: the patient is shown the crisis line
    flags: list[tuple[str, str]]  # (severity, kind) of each flag raised or added to


def send_checkin_link(
    actor: Actor,
    patient_id: int,
    *,
    measures: tuple[str, ...] | list[str] = CHECKIN_MEASURES,
    hours: int | None = None,
    submission: str | None = None,
    engine: Engine | None = None,
) -> SentLink:
    """Create a one-time link for the patient to answer ``measures``, valid for ``hours`` (default
    ``CHECKIN_LINK_HOURS``). The actor must be allowed to act for the patient (their caseload or team)."""
    hours = get_settings().checkin_link_hours if hours is None else hours
    chosen = tuple(measure for measure in CHECKIN_MEASURES if measure in set(measures))
    errors: dict[str, str] = {}
    if not chosen or len(chosen) != len(set(measures)):
        errors["measures"] = f"choose one or more of {', '.join(CHECKIN_MEASURES)}"
    if isinstance(hours, bool) or not isinstance(hours, int) or not MIN_LINK_HOURS <= hours <= MAX_LINK_HOURS:
        errors["valid for"] = f"must be a whole number of hours from {MIN_LINK_HOURS} to {MAX_LINK_HOURS}"
    if errors:
        raise InvalidInput(errors)
    now = utcnow()
    with write_session(engine) as session:
        patient = require_patient(session, actor, patient_id, "send_checkin_link")
        claim = claim_submission(session, actor, submission, "send_checkin_link")
        if patient.program_phase == "discharged":
            raise InvalidInput({"patient": "is discharged; check-in links are for patients in the program"})
        token = secrets.token_urlsafe(32)
        link = PatientCheckinLink(
            patient_id=patient_id,
            token_hash=hash_token(token),
            measures=list(chosen),
            created_at=now,
            created_by_id=actor.user_id,
            expires_at=now + timedelta(hours=hours),
        )
        session.add(link)
        session.flush()
        record_event(
            session,
            actor,
            "send_checkin_link",
            patient_id=patient_id,
            data_category="checkin_link",
            record_type="checkin_link",
            record_id=link.id,
            detail=f"{', '.join(chosen)}; valid {hours} h, until {link.expires_at:%Y-%m-%d %H:%M} UTC",
        )
        # Never the token: a repeated click is told what was done, and the link is shown only once.
        settle_submission(
            claim,
            record_type="checkin_link",
            record_id=link.id,
            outcome=f"Check-in link {link.id} was created (valid until {link.expires_at:%Y-%m-%d %H:%M} UTC). "
            "A link is shown only once: if it was lost, revoke it and send a new one.",
        )
        return SentLink(link.id, token, link.expires_at, chosen)


def revoke_checkin_link(
    actor: Actor, link_id: int, *, submission: str | None = None, engine: Engine | None = None
) -> None:
    """Withdraw a link that has not been used: from now on it says it was withdrawn."""
    now = utcnow()
    with write_session(engine) as session:
        link = session.get(PatientCheckinLink, link_id)
        if link is None:
            raise InvalidInput({"link": "no such check-in link"})
        require_patient(session, actor, link.patient_id, "send_checkin_link")
        claim = claim_submission(session, actor, submission, "revoke_checkin_link")
        if link.used_at is not None:
            raise InvalidInput({"link": "was already used; the answers are in the chart"})
        if link.revoked_at is not None:
            raise InvalidInput({"link": "was already revoked"})
        result = session.execute(
            update(PatientCheckinLink)
            .where(
                PatientCheckinLink.id == link_id,
                PatientCheckinLink.used_at.is_(None),
                PatientCheckinLink.revoked_at.is_(None),
            )
            .values(revoked_at=now, revoked_by_id=actor.user_id)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # written serially, so only if the checks above were bypassed
            raise InvalidInput({"link": "was used or revoked a moment ago"})
        record_event(
            session,
            actor,
            "revoke_checkin_link",
            patient_id=link.patient_id,
            data_category="checkin_link",
            record_type="checkin_link",
            record_id=link_id,
            detail="expired before revoking" if now >= link.expires_at else None,
        )
        settle_submission(
            claim, record_type="checkin_link", record_id=link_id, outcome=f"Check-in link {link_id} revoked."
        )


def _find(session: Session, token: str) -> PatientCheckinLink | None:
    if not isinstance(token, str) or not _TOKEN_PATTERN.match(token):
        return None
    return session.scalar(select(PatientCheckinLink).where(PatientCheckinLink.token_hash == hash_token(token)))


def _refusal(session: Session, link: PatientCheckinLink | None, now: datetime) -> str | None:
    """Why the link cannot be used now (None: it can). Used before anything, revoked before expired.

    A patient discharged after the link was sent is no longer watched by a care team: answers (and a positive
    item 9) would land in a queue nobody reads for them, so the link closes with the discharge."""
    if link is None:
        return UNKNOWN
    if link.used_at is not None:
        return USED
    if link.revoked_at is not None:
        return REVOKED
    if now >= link.expires_at:
        return EXPIRED
    if session.scalar(select(Patient.program_phase).where(Patient.id == link.patient_id)) == "discharged":
        return CLOSED
    return None


def _audit_refusal(session: Session, link: PatientCheckinLink | None, reason: str, step: str) -> None:
    record_event(
        session,
        PATIENT_LINK_ACTOR,
        "checkin_link_refused",
        outcome="denied",
        patient_id=link.patient_id if link else None,
        data_category="checkin_link",
        record_type="checkin_link",
        record_id=link.id if link else None,
        detail=f"{step}: {reason}",  # never the token, not even in part
    )


def check_checkin_link(token: str, *, engine: Engine | None = None) -> OpenLink:
    """Validate the token (read only): the patient page does this on every run. Raises ``LinkRefused``."""
    with read_session(engine) as session:
        link = _find(session, token)
        reason = _refusal(session, link, utcnow())
        if reason is not None or link is None:
            raise LinkRefused(reason or UNKNOWN)
        return OpenLink(link.id, tuple(link.measures), link.expires_at)


def open_checkin_link(token: str, *, engine: Engine | None = None) -> OpenLink:
    """The patient opened the link: validate it, note the first opening and audit the open (or the refusal)."""
    now = utcnow()
    with write_session(engine) as session:
        link = _find(session, token)
        reason = _refusal(session, link, now)
        if reason is not None or link is None:
            _audit_refusal(session, link, reason or UNKNOWN, "open")
        else:
            if link.opened_at is None:
                link.opened_at = now
            record_event(
                session,
                PATIENT_LINK_ACTOR,
                "checkin_link_opened",
                patient_id=link.patient_id,
                data_category="checkin_link",
                record_type="checkin_link",
                record_id=link.id,
            )
            opened = OpenLink(link.id, tuple(link.measures), link.expires_at)
    if reason is not None:
        raise LinkRefused(reason)  # after the commit, so the refusal stays in the audit trail
    return opened


def validate_answers(answers: CheckinAnswers, measures: tuple[str, ...]) -> tuple[dict[str, str], list]:
    """Problems by field (empty if none) and the scores, for exactly the measures the link asks."""
    errors: dict[str, str] = {}
    scores: list[clinical.InstrumentScore] = []
    given = {
        PHQ9: answers.phq9 is not None,
        GAD7: answers.gad7 is not None,
        MISSED_DOSES: answers.missed_doses is not None,
    }
    for measure, present in given.items():
        if present != (measure in measures):
            errors[MEASURE_LABELS[measure]] = "is required" if measure in measures else "was not asked by this link"
    if answers.side_effects and SIDE_EFFECTS not in measures:
        errors[MEASURE_LABELS[SIDE_EFFECTS]] = "were not asked by this link"
    for instrument, items in ((PHQ9, answers.phq9), (GAD7, answers.gad7)):
        if items is not None:
            try:
                scores.append(clinical.score_instrument(instrument, list(items)))
            except ValueError as error:
                errors[instrument] = str(error)
    if len(answers.side_effects) > MAX_PATIENT_SIDE_EFFECTS:
        errors["side effects"] = f"at most {MAX_PATIENT_SIDE_EFFECTS}"
    for number, effect in enumerate(answers.side_effects, start=1):
        if not effect.symptom.strip() or len(effect.symptom) > MAX_SHORT_TEXT:
            errors[f"side effect {number}"] = f"describe it in up to {MAX_SHORT_TEXT} characters"
        if effect.severity not in SIDE_EFFECT_SEVERITIES:
            errors[f"side effect {number} severity"] = "choose mild, moderate or severe"
    missed = answers.missed_doses
    if missed is not None and (
        isinstance(missed, bool) or not isinstance(missed, int) or not 0 <= missed <= MAX_MISSED_DOSES
    ):
        errors[MEASURE_LABELS[MISSED_DOSES]] = f"must be a whole number from 0 to {MAX_MISSED_DOSES}"
    return errors, scores


def _attribute(effect: PatientSideEffect, active: list[Prescription]) -> SideEffectEntry:
    """Tie a side effect the patient describes to a medicine: the one whose red-flag symptom it names, else the
    only psychiatric medicine; otherwise it is stored unattributed (a severe one still raises a flag)."""
    psychiatric = [p for p in active if p.is_psychiatric]
    note = "reported by the patient through a check-in link"
    for prescription in psychiatric:
        finding = clinical.flag_for_side_effect(prescription.drug, effect.symptom, effect.severity)
        if finding is not None and finding.kind == "red_flag_side_effect":
            return SideEffectEntry(prescription.drug, effect.symptom, effect.severity, prescription.id, note)
    if len(psychiatric) == 1:
        only = psychiatric[0]
        return SideEffectEntry(only.drug, effect.symptom, effect.severity, only.id, note)
    return SideEffectEntry(UNNAMED_MEDICATION, effect.symptom, effect.severity, None, note + " (medicine not named)")


def submit_checkin(token: str, answers: CheckinAnswers, *, engine: Engine | None = None) -> CheckinResult:
    """Store the patient's answers through the link, once. The token is validated again here, and the link is
    spent by a conditional UPDATE in the same transaction as the answers: a second submit (another tab, a
    double tap, a replay) is refused with ``LinkRefused("used")`` and writes nothing but its audit event."""
    now = utcnow()
    refusal: str | None = None
    with write_session(engine) as session:
        link = _find(session, token)
        if link is not None:
            # As every write about a patient: the flags it raises check what is open, as a visit saved at the
            # same moment does (db.engine.serialize_writes_on).
            serialize_writes_on(session, "patient", link.patient_id)
        refusal = _refusal(session, link, now)
        if refusal is not None or link is None:
            refusal = refusal or UNKNOWN
            _audit_refusal(session, link, refusal, "submit")
        else:
            errors, scores = validate_answers(answers, tuple(link.measures))
            if errors:
                raise InvalidInput(errors)
            spent = session.execute(
                update(PatientCheckinLink)
                .where(
                    PatientCheckinLink.id == link.id,
                    PatientCheckinLink.used_at.is_(None),
                    PatientCheckinLink.revoked_at.is_(None),
                    PatientCheckinLink.expires_at > now,
                )
                .values(used_at=now, missed_doses=answers.missed_doses)
                .execution_options(synchronize_session=False)
            )
            if spent.rowcount != 1:
                refusal = USED
                _audit_refusal(session, link, refusal, "submit")
            else:
                result = _store_answers(session, link, answers, scores, now)
    if refusal is not None:
        raise LinkRefused(refusal)
    return result


def _store_answers(
    session: Session,
    link: PatientCheckinLink,
    answers: CheckinAnswers,
    scores: list[clinical.InstrumentScore],
    now: datetime,
) -> CheckinResult:
    active = list(
        session.scalars(
            select(Prescription).where(Prescription.patient_id == link.patient_id, Prescription.status == "active")
        )
    )
    entries = [_attribute(effect, active) for effect in answers.side_effects]
    findings = store_reports(
        session,
        link.patient_id,
        scores=scores,
        answers={PHQ9: answers.phq9, GAD7: answers.gad7},
        side_effects=entries,
        active={p.id: p for p in active},
        reported_at=now,
        source=SELF_REPORT_SOURCE,
        # One self-report per link and measure: the unique sender-id index is a backstop against a second write.
        external_ids={score.instrument: f"checkin-link:{link.id}:{score.instrument}" for score in scores},
    )
    if answers.missed_doses:
        findings += missed_dose_findings(answers.missed_doses, source=("patient_checkin_links", link.id))
    raised = raise_findings(session, PATIENT_LINK_ACTOR, link.patient_id, findings, raised_at=now)
    refresh_patient_summary(session, link.patient_id)
    record_event(
        session,
        PATIENT_LINK_ACTOR,
        "checkin_submitted",
        patient_id=link.patient_id,
        data_category="assessment",
        record_type="checkin_link",
        record_id=link.id,
        detail=", ".join(f"{s.instrument} {s.total} ({s.severity})" for s in scores)
        + f"; {len(entries)} side effects"
        + (f"; {answers.missed_doses} missed doses" if answers.missed_doses is not None else "")
        + f"; {sum(o.is_new for o in raised)} new flags, {sum(not o.is_new for o in raised)} open flags updated",
    )
    return CheckinResult(
        scores=scores,
        self_harm=any("self_harm" in score.flags for score in scores),
        flags=[(o.flag.severity, o.flag.kind) for o in raised],
    )


__all__ = [
    "CHECKIN_MEASURES",
    "MEASURE_LABELS",
    "PATIENT_LINK_ACTOR",
    "REFUSAL_MESSAGES",
    "CheckinAnswers",
    "CheckinResult",
    "LinkRefused",
    "OpenLink",
    "PatientSideEffect",
    "SentLink",
    "check_checkin_link",
    "hash_token",
    "open_checkin_link",
    "revoke_checkin_link",
    "send_checkin_link",
    "submit_checkin",
]
