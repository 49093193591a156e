"""The intake evaluation: the first visit, with histories, reconciliation, allergies, diagnoses and a C-SSRS screen."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import clinical
from db.audit import record_event
from db.commands import EditConflict, InvalidInput, SafetyBlock
from db.commands.medications import MedicationOrder, ProposedMedication, SafetyReview, review_new_medications
from db.commands.submissions import claim_submission, settle_submission
from db.commands.visits import VisitInput, VisitResult, save_visit, validate_visit
from db.engine import read_session, utcnow, write_session
from db.models import Allergy, Diagnosis, Patient
from db.permissions import Actor, require_patient
from db.queries.caseload import program_today

ICD10_PATTERN = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$")
RECONCILIATION_DECISIONS = ("continue", "change", "stop")
MAX_TEXT = 10_000


@dataclass(frozen=True)
class PriorTrial:
    drug: str
    highest_dose: str
    response: str
    side_effects: str = ""


@dataclass(frozen=True)
class OutsideMedication:
    drug: str
    dose: str
    decision: str  # continue, change, stop
    note: str = ""


@dataclass(frozen=True)
class IntakeInput:
    visit: VisitInput
    cssrs: dict[str, Any]
    medical_history: str = ""
    psychiatric_history: str = ""
    substance_use: str = ""
    treatment_plan: str = ""
    prior_trials: list[PriorTrial] = field(default_factory=list)
    outside_medications: list[OutsideMedication] = field(default_factory=list)
    allergies: list[tuple[str, str]] = field(default_factory=list)  # (substance, reaction)
    diagnoses: list[tuple[str, str, bool]] = field(default_factory=list)  # (ICD-10-CM, description, primary)
    higher_level_of_care_considered: bool = False
    higher_level_of_care_note: str = ""
    # The safety review of the outside medications the patient continues: a contraindicated pair or an allergy
    # match needs a documented reason, a major interaction an acknowledgement (as when starting a medication).
    reconciliation_override: str = ""
    acknowledge_interactions: bool = False


def _validate(intake: IntakeInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name in (
        "medical_history",
        "psychiatric_history",
        "substance_use",
        "treatment_plan",
        "higher_level_of_care_note",
    ):
        if len(getattr(intake, name)) > MAX_TEXT:
            errors[name.replace("_", " ")] = f"at most {MAX_TEXT} characters"
    if not intake.treatment_plan.strip():
        errors["treatment plan"] = "is required"
    for index, medication in enumerate(intake.outside_medications, start=1):
        if medication.decision not in RECONCILIATION_DECISIONS:
            errors[f"outside medication {index}"] = f"decision must be one of {', '.join(RECONCILIATION_DECISIONS)}"
        if not medication.drug.strip():
            errors[f"outside medication {index}"] = "drug is required"
    for index, trial in enumerate(intake.prior_trials, start=1):
        if not trial.drug.strip():
            errors[f"prior trial {index}"] = "drug is required"
    for code, description, _ in intake.diagnoses:
        if not ICD10_PATTERN.match(code.strip().upper()):
            errors["diagnoses"] = f"{code!r} is not an ICD-10-CM code (for example F33.1)"
        elif not description.strip():
            errors["diagnoses"] = f"{code} needs a description"
    if intake.diagnoses and sum(1 for *_, primary in intake.diagnoses if primary) != 1:
        errors["diagnoses"] = "mark exactly one diagnosis as primary"
    for substance, _ in intake.allergies:
        if not substance.strip() or len(substance) > 120:
            errors["allergies"] = "each allergy needs a substance (at most 120 characters)"
    return errors


CONTINUED = ("continue", "change")


def reconciliation_review(
    session: Session, actor: Actor, patient: Patient, intake: IntakeInput, today: date
) -> list[SafetyReview]:
    """The start-medication safety review of every outside medication the patient stays on, against each other,
    the program's active prescriptions and the allergies on file or being recorded. Unknown names are reported
    as not checked, never passed silently."""
    continued = [m for m in intake.outside_medications if m.decision in CONTINUED and m.drug.strip()]
    if not continued:
        return []
    proposed = [
        ProposedMedication(
            drug=clinical.resolve_medication(m.drug) or m.drug.strip(), daily_mg=None, prescribed_here=False
        )
        for m in continued
    ]
    return review_new_medications(
        session,
        patient,
        proposed,
        licensed_states=actor.licensed_states,
        event="start",
        today=today,
        extra_allergies=[substance for substance, _ in intake.allergies if substance.strip()],
    )


def review_problems(reviews: list[SafetyReview], intake: IntakeInput) -> list[str]:
    """What stops the intake from being saved: blocks, and overrides or acknowledgements not given."""
    order = MedicationOrder(
        drug="",
        dose=0,
        unit="mg",
        frequency="",
        reason="",
        override_reason=intake.reconciliation_override,
        acknowledge_major=intake.acknowledge_interactions,
    )
    return [f"Reconciliation: {problem}" for review in reviews for problem in review.problems_for(order)]


def preview_reconciliation(
    actor: Actor, patient_id: int, intake: IntakeInput, *, engine: Engine | None = None
) -> list[SafetyReview]:
    """The review the intake form shows before saving (reads only); the save runs it again."""
    with read_session(engine) as session:
        patient = require_patient(session, actor, patient_id, "log_visit")
        return reconciliation_review(session, actor, patient, intake, program_today())


def record_intake(
    actor: Actor,
    patient_id: int,
    intake: IntakeInput,
    *,
    expected_patient_version: int,
    submission: str | None = None,
    engine: Engine | None = None,
) -> VisitResult:
    """Save the intake in one transaction. A high-risk C-SSRS screen raises an urgent flag and requires that a
    higher level of care was considered (recorded with the visit)."""
    # The C-SSRS screen and its level-of-care rule go through the visit's own validation and save
    # (validate_visit / save_visit), the same path as a screen at a follow-up visit.
    visit = VisitInput(
        **{
            **intake.visit.__dict__,
            "visit_type": "intake",
            "cssrs": intake.cssrs,
            "higher_level_of_care_considered": intake.higher_level_of_care_considered,
            "higher_level_of_care_note": intake.higher_level_of_care_note,
        }
    )
    errors, scores = validate_visit(visit, now=utcnow(), today=program_today())
    errors.update(_validate(intake))
    screen = next((s for s in scores if s.instrument == "C-SSRS screener"), None)
    if errors:
        raise InvalidInput(errors)
    details = {
        "medical_history": intake.medical_history.strip(),
        "psychiatric_history": intake.psychiatric_history.strip(),
        "substance_use": intake.substance_use.strip(),
        "treatment_plan": intake.treatment_plan.strip(),
        "prior_trials": [trial.__dict__ for trial in intake.prior_trials],
        "outside_medications": [medication.__dict__ for medication in intake.outside_medications],
        # save_visit adds the screen's risk and the level-of-care decision, as for any visit with a screen.
        "higher_level_of_care_considered": intake.higher_level_of_care_considered,
        "higher_level_of_care_note": intake.higher_level_of_care_note.strip(),
        "cssrs_risk": screen.severity if screen else None,
    }
    if intake.reconciliation_override.strip():
        details["reconciliation_override"] = intake.reconciliation_override.strip()
    visit = VisitInput(**{**visit.__dict__, "details": details})
    with write_session(engine) as session:
        patient = require_patient(session, actor, patient_id, "log_visit")
        claim = claim_submission(session, actor, submission, "record_intake")
        if patient.version != expected_patient_version:
            raise EditConflict(
                "This patient's record was changed by someone else after you opened the intake form. "
                "Nothing was saved; reload and try again."
            )
        reviews = reconciliation_review(session, actor, patient, intake, program_today())
        problems = review_problems(reviews, intake)
        if problems:
            raise SafetyBlock(problems)
        existing = {
            a.lower() for a in session.scalars(select(Allergy.substance).where(Allergy.patient_id == patient.id))
        }
        for substance, reaction in intake.allergies:
            if substance.strip().lower() not in existing:
                session.add(
                    Allergy(patient_id=patient.id, substance=substance.strip(), reaction=reaction.strip() or None)
                )
        if intake.diagnoses:
            for diagnosis in session.scalars(select(Diagnosis).where(Diagnosis.patient_id == patient.id)):
                diagnosis.is_primary = False
            for code, description, primary in intake.diagnoses:
                session.add(
                    Diagnosis(
                        patient_id=patient.id,
                        icd10_code=code.strip().upper(),
                        description=description.strip(),
                        is_primary=primary,
                    )
                )
        result = save_visit(session, actor, patient, visit, scores)
        record_event(
            session,
            actor,
            "record_intake",
            patient_id=patient.id,
            data_category="visit",
            record_type="visit",
            record_id=result.visit_id,
            detail=f"C-SSRS {details['cssrs_risk']}; {len(intake.outside_medications)} outside medications "
            f"reconciled"
            + ("; higher level of care considered" if intake.higher_level_of_care_considered else "")
            + (
                f"; reconciliation override: {intake.reconciliation_override.strip()[:300]}"
                if intake.reconciliation_override.strip()
                else ""
            ),
        )
        settle_submission(claim, record_type="visit", record_id=result.visit_id, outcome=result.summary())
        return result


__all__ = [
    "IntakeInput",
    "OutsideMedication",
    "PriorTrial",
    "preview_reconciliation",
    "reconciliation_review",
    "record_intake",
]
