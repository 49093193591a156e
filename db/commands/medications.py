"""Start, adjust and stop a medication, with the rules engine's safety review run again at save time.

The form shows ``review_medication`` before saving; the command runs the same review inside its
transaction (never trusting what the form showed), appends to the dose history, orders the monitoring
labs and records the audit event, all in one transaction.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

import clinical
from db.audit import record_event
from db.commands import EditConflict, InvalidInput, SafetyBlock
from db.commands.labs import order_labs
from db.commands.submissions import claim_submission, settle_submission
from db.engine import read_session, utcnow, write_session
from db.mfa import verify_totp
from db.models import Allergy, DoseChange, Patient, Prescription, User
from db.permissions import Actor, require_patient
from db.queries.caseload import program_today
from db.queries.patients import age_on
from db.settings import get_settings

MAX_REASON_LENGTH = 2000
PDMP_NOT_ATTESTED = "Prescription-monitoring-program (PDMP) check not attested"
MAX_DAILY_DOSE_SANITY_MG = 100_000  # beyond any drug's maximum: catches unit slips before the rules engine


@dataclass(frozen=True)
class MedicationOrder:
    drug: str
    dose: float
    unit: str
    frequency: str
    reason: str
    route: str = "oral"
    formulation: str | None = None
    indication: str | None = None
    quantity: int | None = None
    days_supply: int | None = None
    override_reason: str = ""
    acknowledge_major: bool = False
    pdmp_checked: bool = False
    modality: str = "video"


@dataclass
class SafetyReview:
    """What the rules engine says about a proposed medication change."""

    drug: str
    daily_mg: float | None
    dose_check: clinical.DoseCheck | None
    interactions: list[clinical.Interaction] = field(default_factory=list)
    allergy_matches: list[str] = field(default_factory=list)
    schedule: str | None = None
    controlled_requirements: list[str] = field(default_factory=list)
    labs_to_order: list[clinical.LabDue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    blocking: list[str] = field(default_factory=list)
    needs_override: list[str] = field(default_factory=list)
    needs_acknowledgement: list[str] = field(default_factory=list)
    # A controlled substance prescribed here needs its own attestation: acknowledging other findings is no
    # substitute for having checked the prescription-monitoring program.
    needs_pdmp_attestation: bool = False

    def problems_for(self, order: MedicationOrder) -> list[str]:
        """Reasons the save must be refused, given the override, acknowledgement and PDMP attestation."""
        problems = list(self.blocking)
        if self.needs_override and not order.override_reason.strip():
            problems += [f"{item} — a documented override reason is required." for item in self.needs_override]
        if self.needs_acknowledgement and not order.acknowledge_major:
            problems += [f"{item} — acknowledge it to proceed." for item in self.needs_acknowledgement]
        if self.needs_pdmp_attestation and not order.pdmp_checked:
            problems.append(f"{PDMP_NOT_ATTESTED} — attest the PDMP check to proceed.")
        return problems


def _validate_order(order: MedicationOrder, *, require_reason: bool = True) -> tuple[str, float]:
    errors: dict[str, str] = {}
    canonical = clinical.resolve_drug(order.drug or "")
    if canonical is None:
        errors["drug"] = f"'{order.drug}' is not in the formulary"
    dose = order.dose
    if isinstance(dose, bool) or not isinstance(dose, int | float) or not math.isfinite(dose) or dose <= 0:
        errors["dose"] = "must be a number greater than 0"
    if order.unit not in clinical.DOSE_UNITS:
        errors["unit"] = f"must be one of {', '.join(clinical.DOSE_UNITS)}"
    if order.frequency not in clinical.FREQUENCIES:
        errors["frequency"] = f"must be one of {', '.join(clinical.FREQUENCIES)}"
    if require_reason and not order.reason.strip():
        errors["reason"] = "a reason is required"
    if len(order.reason) > MAX_REASON_LENGTH or len(order.override_reason) > MAX_REASON_LENGTH:
        errors["reason"] = f"at most {MAX_REASON_LENGTH} characters"
    for name, value, upper in (("quantity", order.quantity, 1000), ("days_supply", order.days_supply, 90)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= upper):
            errors[name] = f"must be a whole number from 1 to {upper}"
    daily_mg = 0.0
    if not errors:
        try:
            daily_mg = clinical.daily_dose_mg(dose, order.unit, order.frequency)
        except ValueError as error:
            errors["dose"] = str(error)
        else:
            if daily_mg > MAX_DAILY_DOSE_SANITY_MG:
                errors["dose"] = f"{daily_mg:g} mg/day is not a plausible dose (check the unit)"
    if errors:
        raise InvalidInput(errors)
    assert canonical is not None
    return canonical, daily_mg


@dataclass(frozen=True)
class ProposedMedication:
    """A medication about to be started (or re-dosed), as the safety review sees it."""

    drug: str  # the formulary's canonical name, or an outside (non-formulary) medication's name
    daily_mg: float | None  # None: the dose is not known (a reconciled outside medication), so it is not checked
    formulation: str | None = None
    indication: str | None = None
    modality: str = "video"
    pdmp_checked: bool = False
    # False for a medication another clinician prescribes (reconciled at intake, or an outside medication at
    # onboarding): it is screened for interactions and allergies, but the program's prescribing rules
    # (controlled-substance licence, PDMP attestation, telehealth rules, monitoring labs) are not ours to apply.
    prescribed_here: bool = True


@dataclass(frozen=True)
class PatientFactors:
    """What the rules need to know about the patient; None where it is not recorded (the rules then err on the
    safe side, e.g. a pregnancy test when pregnancy cannot be excluded)."""

    sex: str | None
    age: int
    pregnant: bool | None
    lactating: bool | None
    crcl_ml_min: float | None
    hepatic_impairment: str | None
    benign_ethnic_neutropenia: bool


def patient_factors(patient: Patient, today: date) -> PatientFactors:
    pregnant = {"pregnant": True, "not_pregnant": False}.get(patient.pregnancy_status or "")
    return PatientFactors(
        sex=patient.sex if patient.sex in ("female", "male") else None,
        age=age_on(patient.date_of_birth, today),
        pregnant=pregnant,
        lactating=patient.lactating,
        crcl_ml_min=patient.crcl_ml_min,
        hepatic_impairment=patient.hepatic_impairment,
        benign_ethnic_neutropenia=bool(patient.benign_ethnic_neutropenia),
    )


def monitoring_due(
    drug: str, event: str, patient: Patient, today: date, *, weeks_on_treatment: int | None = None
) -> list[clinical.LabDue]:
    """The monitoring labs a drug calls for in this patient (sex, age and pregnancy decide the pregnancy test)."""
    factors = patient_factors(patient, today)
    return clinical.monitoring_labs(
        drug,
        event,
        on=today,
        weeks_on_treatment=weeks_on_treatment,
        ancestry=patient.ancestry,
        sex=factors.sex,
        age=factors.age,
        pregnant=factors.pregnant,
    )


def interaction_label(interaction: clinical.Interaction) -> str:
    """One line naming the two drugs, the risk and how severe: one pair can be found by several screens (say QT
    and serotonergic), so the risk is part of the label."""
    drugs = " + ".join(interaction.drugs)
    if interaction.severity == "unknown":
        return f"Not checked: {drugs} ({interaction.advice})"
    risk = f" ({interaction.effect})" if interaction.effect else ""
    return f"{interaction.severity.title()} interaction: {drugs}{risk}"


def review_new_medications(
    session: Session,
    patient: Patient,
    proposed: Sequence[ProposedMedication],
    *,
    licensed_states: Collection[str],
    event: str,
    today: date,
    excluding_prescription_id: int | None = None,
    unlicensed_prescriber: str = "You are not",
    extra_allergies: Sequence[str] = (),
) -> list[SafetyReview]:
    """The safety review of medications about to be added for ``patient``, one review per medication, in order:
    the dose against the maximum that applies to this patient, interactions with the patient's active
    prescriptions and with the medications before it in ``proposed`` (each pair is reported once, on the later
    one), the allergies on file, and the controlled-substance rules for a prescriber licensed in
    ``licensed_states`` (``unlicensed_prescriber`` words that finding: "You are not" licensed in NY...).

    Every path that adds a medication calls this: the prescriber's form (one medication) and onboarding (all of
    a patient's medications at once, after its allergies are added to the session), and intake reconciliation
    (the outside medications the patient continues, with the allergies being recorded as ``extra_allergies``)."""
    factors = patient_factors(patient, today)
    active_drugs = list(
        session.scalars(
            select(Prescription.drug).where(
                Prescription.patient_id == patient.id,
                Prescription.status == "active",
                Prescription.id != (excluding_prescription_id or -1),
            )
        )
    )
    allergies = [
        *session.scalars(select(Allergy.substance).where(Allergy.patient_id == patient.id)),
        *extra_allergies,
    ]
    reviews: list[SafetyReview] = []
    for number, medication in enumerate(proposed):
        drug = medication.drug
        in_formulary = clinical.resolve_drug(drug) is not None
        review = SafetyReview(drug=drug, daily_mg=medication.daily_mg, dose_check=None)
        if in_formulary and medication.daily_mg is not None:
            review.dose_check = clinical.check_dose(
                drug,
                medication.daily_mg,
                age=factors.age,
                formulation=medication.formulation,
                indication=medication.indication,
                crcl_ml_min=factors.crcl_ml_min,
                hepatic_impairment=factors.hepatic_impairment,
            )
            if review.dose_check.status != "ok":
                review.blocking.append(review.dose_check.message)
            review.warnings.extend(review.dose_check.cautions)
        elif in_formulary:
            review.warnings.append(f"{drug}: no dose recorded, so the dose is not checked.")
        else:
            review.warnings.append(f"{drug} is not in the formulary: its dose is not checked.")
        others = [*active_drugs, *(earlier.drug for earlier in proposed[:number])]
        for interaction in clinical.check_interactions([drug, *others]):
            involved = {*interaction.drugs, *(clinical.resolve_drug(name) for name in interaction.drugs)}
            if drug not in involved:
                continue  # a pair among the other medications is not this medication's finding
            # Every finding is in review.interactions (shown once, most severe first); the save needs a documented
            # reason for a contraindicated pair and an acknowledgement for a major one.
            review.interactions.append(interaction)
            if interaction.severity == "contraindicated":
                review.needs_override.append(interaction_label(interaction))
            elif interaction.severity == "major":
                review.needs_acknowledgement.append(interaction_label(interaction))
        review.allergy_matches = clinical.allergy_matches(drug, allergies)
        for allergy in review.allergy_matches:
            review.needs_override.append(f"Allergy on file: {allergy}")
        review.schedule = clinical.drug_schedule(drug)
        if review.schedule is not None and not medication.prescribed_here:
            review.controlled_requirements.append(
                f"Schedule {review.schedule} controlled substance prescribed elsewhere: check the PDMP"
            )
        elif review.schedule is not None:
            review.controlled_requirements.append(f"Schedule {review.schedule} controlled substance")
            if patient.state_of_residence not in licensed_states:
                review.blocking.append(
                    f"{unlicensed_prescriber} licensed in {patient.state_of_residence}, the patient's state: "
                    "a controlled substance cannot be prescribed."
                )
            rule = clinical.telehealth_prescribing(drug, modality=medication.modality, on=today)
            review.controlled_requirements.extend(rule.requirements)
            if not rule.permitted:
                review.blocking.append(rule.reason)
            review.needs_pdmp_attestation = not medication.pdmp_checked
        if patient.telehealth_consent_date is None:
            review.warnings.append("No telehealth consent is on file for this patient.")
        for finding in clinical.reproductive_safety(
            drug, sex=factors.sex, age=factors.age, pregnant=factors.pregnant, lactating=factors.lactating
        ):
            # For a recorded pregnancy or lactation, a contraindicated drug needs a documented reason and a major
            # finding an acknowledgement. Where the status is not recorded the finding is shown (and monitoring
            # orders the pregnancy test): recording the status on the chart makes it binding.
            text = f"Reproductive safety ({finding.kind.replace('_', ' ')}, {finding.certainty}): {finding.summary}"
            if finding.certainty == "known" and finding.severity == "contraindicated":
                review.needs_override.append(text)
            elif finding.certainty == "known" and finding.severity == "major":
                review.needs_acknowledgement.append(text)
            elif finding.severity != "unknown":
                review.warnings.append(f"{text} {finding.advice}".strip())
        if in_formulary and medication.prescribed_here:
            review.labs_to_order = [
                lab
                for lab in monitoring_due(drug, event, patient, today)
                if getattr(lab, "kind", "lab") == "lab"
            ]
        reviews.append(review)
    return reviews


def _review(
    session: Session,
    actor: Actor,
    patient: Patient,
    order: MedicationOrder,
    drug: str,
    daily_mg: float,
    *,
    event: str,
    excluding_prescription_id: int | None,
    today: date,
) -> SafetyReview:
    """The review of one order placed by ``actor`` (the prescriber's form and its commands)."""
    proposed = ProposedMedication(
        drug=drug,
        daily_mg=daily_mg,
        formulation=order.formulation,
        indication=order.indication,
        modality=order.modality,
        pdmp_checked=order.pdmp_checked,
    )
    (review,) = review_new_medications(
        session,
        patient,
        [proposed],
        licensed_states=actor.licensed_states,
        event=event,
        today=today,
        excluding_prescription_id=excluding_prescription_id,
    )
    return review


def review_medication(
    actor: Actor,
    patient_id: int,
    order: MedicationOrder,
    *,
    replacing_prescription_id: int | None = None,
    engine: Engine | None = None,
) -> SafetyReview:
    """The safety review the form shows before saving (reads only)."""
    drug, daily_mg = _validate_order(order, require_reason=False)
    with read_session(engine) as session:
        patient = require_patient(session, actor, patient_id, "prescribe")
        return _review(
            session,
            actor,
            patient,
            order,
            drug,
            daily_mg,
            event="dose_change" if replacing_prescription_id else "start",
            excluding_prescription_id=replacing_prescription_id,
            today=program_today(),
        )


def _check_version(record: Patient | Prescription, expected_version: int, what: str) -> None:
    if record.version != expected_version:
        raise EditConflict(
            f"This {what} was changed by someone else after you opened the form. "
            "Nothing was saved; review the current record and try again."
        )


def add_started_prescription(
    session: Session,
    prescription: Prescription,
    *,
    reason: str,
    author_id: int | None,
    override_reason: str | None = None,
) -> None:
    """Add a new prescription and the first row of its dose history (a "start"), which mirrors it."""
    session.add(prescription)
    session.flush()
    session.add(
        DoseChange(
            prescription_id=prescription.id,
            patient_id=prescription.patient_id,
            change_type="start",
            drug=prescription.drug,
            new_dose=prescription.dose,
            unit=prescription.unit,
            new_frequency=prescription.frequency,
            new_daily_mg=prescription.daily_dose_mg,
            reason=reason,
            override_reason=override_reason,
            author_id=author_id,
        )
    )


STEP_UP_FIELD = "authenticator code"


def _require_step_up(session: Session, actor: Actor, drug: str, step_up_code: str | None) -> None:
    """Signing a controlled-substance prescription needs a fresh TOTP code (DEA EPCS: two factors at signing).

    Checked here, inside the command's transaction, so no path to the prescription skips it. The code's time
    step is spent with the prescription (``users.totp_last_step``): it cannot sign a second one, nor be replayed.
    Only with MFA_REQUIRED=off (the demo) may a prescriber without an authenticator sign without a code.
    """
    schedule = clinical.drug_schedule(drug)
    if schedule is None:
        return
    user = session.get(User, actor.user_id)
    if user is None or user.totp_enrolled_at is None:
        if get_settings().mfa_required:
            raise InvalidInput(
                {
                    STEP_UP_FIELD: f"signing a Schedule {schedule} prescription needs two-factor authentication; "
                    "set it up on the 'Two-factor authentication' page"
                }
            )
        return
    if not (step_up_code or "").strip():
        raise InvalidInput({STEP_UP_FIELD: f"required to sign a Schedule {schedule} prescription"})
    if not verify_totp(user, step_up_code or ""):
        raise InvalidInput({STEP_UP_FIELD: "not valid (each code works once); enter the code your app shows now"})


def start_medication(
    actor: Actor,
    patient_id: int,
    order: MedicationOrder,
    *,
    expected_patient_version: int,
    step_up_code: str | None = None,
    submission: str | None = None,
    engine: Engine | None = None,
) -> Prescription:
    """Start a new medication: review, prescription, first dose-history row, labs and audit in one transaction.
    ``submission`` is the form's one-time token: a repeat raises ``AlreadySubmitted`` and writes nothing.
    ``step_up_code`` is the prescriber's current TOTP code, required for a controlled substance."""
    drug, daily_mg = _validate_order(order)
    today = program_today()
    with write_session(engine) as session:
        patient = require_patient(session, actor, patient_id, "prescribe")
        claim = claim_submission(session, actor, submission, "start_medication")
        _check_version(patient, expected_patient_version, "patient's record")
        review = _review(
            session, actor, patient, order, drug, daily_mg, event="start", excluding_prescription_id=None, today=today
        )
        problems = review.problems_for(order)
        if problems:
            raise SafetyBlock(problems)
        _require_step_up(session, actor, drug, step_up_code)
        entry = clinical.formulary_entry(drug)
        prescription = Prescription(
            patient_id=patient.id,
            drug=drug,
            rxnorm=entry.rxnorm,
            dose=float(order.dose),
            unit=order.unit,
            frequency=order.frequency,
            route=order.route,
            daily_dose_mg=daily_mg,
            formulation=order.formulation,
            indication=order.indication,
            quantity=order.quantity,
            days_supply=order.days_supply,
            status="active",
            is_psychiatric=True,
            start_date=today,
            prescriber_id=actor.user_id,
        )
        add_started_prescription(
            session,
            prescription,
            reason=order.reason.strip(),
            override_reason=order.override_reason.strip() or None,
            author_id=actor.user_id,
        )
        order_labs(session, actor, patient.id, review.labs_to_order, drug=drug, prescription_id=prescription.id)
        record_event(
            session,
            actor,
            "start_medication",
            patient_id=patient.id,
            data_category="medication",
            record_type="prescription",
            record_id=prescription.id,
            detail=f"{drug} {order.dose:g} {order.unit} {order.frequency}"
            + (f"; override: {order.override_reason.strip()}" if order.override_reason.strip() else ""),
        )
        settle_submission(
            claim,
            record_type="prescription",
            record_id=prescription.id,
            outcome=f"Started {drug} {order.dose:g} {order.unit} {order.frequency}.",
        )
        return prescription


def change_medication(
    actor: Actor,
    prescription_id: int,
    *,
    dose: float | None = None,
    unit: str | None = None,
    frequency: str | None = None,
    reason: str,
    stop: bool = False,
    expected_version: int,
    override_reason: str = "",
    acknowledge_major: bool = False,
    pdmp_checked: bool = False,
    modality: str = "video",
    step_up_code: str | None = None,
    submission: str | None = None,
    engine: Engine | None = None,
) -> Prescription:
    """Adjust the dose or frequency of a prescription, or stop it; the history row is appended, never edited.

    A new dose of a controlled substance is a new signature: it needs ``step_up_code`` (stopping does not)."""
    now = utcnow()
    today = program_today()
    with write_session(engine) as session:
        prescription = session.get(Prescription, prescription_id)
        if prescription is None:
            raise InvalidInput({"prescription": "no such prescription"})
        patient = require_patient(session, actor, prescription.patient_id, "prescribe")
        claim = claim_submission(session, actor, submission, "change_medication")
        _check_version(prescription, expected_version, "prescription")
        if prescription.status != "active":
            raise InvalidInput({"prescription": f"this prescription is already {prescription.status}"})
        if not reason.strip():
            raise InvalidInput({"reason": "a reason is required"})
        if len(reason) > MAX_REASON_LENGTH:
            raise InvalidInput({"reason": f"at most {MAX_REASON_LENGTH} characters"})
        if stop:
            change = DoseChange(
                prescription_id=prescription.id,
                patient_id=patient.id,
                change_type="stop",
                drug=prescription.drug,
                old_dose=prescription.dose,
                new_dose=None,
                unit=prescription.unit,
                old_frequency=prescription.frequency,
                new_frequency=None,
                old_daily_mg=prescription.daily_dose_mg,
                new_daily_mg=None,
                reason=reason.strip(),
                author_id=actor.user_id,
                changed_at=now,
            )
            prescription.status = "stopped"
            prescription.stop_date = today
            prescription.stop_reason = reason.strip()[:200]
            action, labs = "stop_medication", []
        else:
            order = MedicationOrder(
                drug=prescription.drug,
                dose=dose if dose is not None else prescription.dose,
                unit=unit or prescription.unit,
                frequency=frequency or prescription.frequency,
                reason=reason,
                formulation=prescription.formulation,
                indication=prescription.indication,
                override_reason=override_reason,
                acknowledge_major=acknowledge_major,
                pdmp_checked=pdmp_checked,
                modality=modality,
            )
            drug, daily_mg = _validate_order(order)
            review = _review(
                session,
                actor,
                patient,
                order,
                drug,
                daily_mg,
                event="dose_change",
                excluding_prescription_id=prescription.id,
                today=today,
            )
            problems = review.problems_for(order)
            if problems:
                raise SafetyBlock(problems)
            _require_step_up(session, actor, drug, step_up_code)
            old_daily = prescription.daily_dose_mg
            change_type = "increase" if daily_mg > old_daily else "decrease" if daily_mg < old_daily else "change"
            change = DoseChange(
                prescription_id=prescription.id,
                patient_id=patient.id,
                change_type=change_type,
                drug=drug,
                old_dose=prescription.dose,
                new_dose=float(order.dose),
                unit=order.unit,
                old_frequency=prescription.frequency,
                new_frequency=order.frequency,
                old_daily_mg=old_daily,
                new_daily_mg=daily_mg,
                reason=reason.strip(),
                override_reason=override_reason.strip() or None,
                author_id=actor.user_id,
                changed_at=now,
            )
            prescription.dose = float(order.dose)
            prescription.unit = order.unit
            prescription.frequency = order.frequency
            prescription.daily_dose_mg = daily_mg
            action, labs = "adjust_medication", review.labs_to_order
        session.add(change)
        try:
            session.flush()  # the version check on the prescription's UPDATE happens here
        except StaleDataError as error:
            raise EditConflict(
                "This prescription was changed by someone else a moment ago. Nothing was saved; "
                "review the current dose and try again."
            ) from error
        order_labs(session, actor, patient.id, labs, drug=prescription.drug, prescription_id=prescription.id)
        record_event(
            session,
            actor,
            action,
            patient_id=patient.id,
            data_category="medication",
            record_type="prescription",
            record_id=prescription.id,
            detail=f"{change.change_type}: {change.old_dose} -> {change.new_dose} {change.unit}",
        )
        settle_submission(
            claim,
            record_type="prescription",
            record_id=prescription.id,
            outcome=f"Stopped {prescription.drug}."
            if stop
            else f"{prescription.drug} {change.change_type}: now {prescription.dose:g} {prescription.unit} "
            f"{prescription.frequency}.",
        )
        return prescription


MAX_SOURCE_LENGTH = 120


@dataclass(frozen=True)
class OutsideMedicationInput:
    """A medication another clinician prescribes (primary care, a hospital stay) or bought over the counter."""

    name: str  # as the patient or the record gives it: a brand, a salt or a strength is resolved
    dose: float
    unit: str
    frequency: str
    source: str  # who prescribes it: "primary care (Dr Ortiz)", "over the counter", ...
    start_date: date | None = None
    indication: str = ""
    override_reason: str = ""
    acknowledge_major: bool = False


def _validate_outside(medication: OutsideMedicationInput, today: date) -> tuple[str, float]:
    errors: dict[str, str] = {}
    name = medication.name.strip()
    if not name or len(name) > 80:
        errors["medication"] = "a name is required (at most 80 characters)"
    dose = medication.dose
    if isinstance(dose, bool) or not isinstance(dose, int | float) or not math.isfinite(dose) or dose <= 0:
        errors["dose"] = "must be a number greater than 0"
    if medication.unit not in clinical.DOSE_UNITS:
        errors["unit"] = f"must be one of {', '.join(clinical.DOSE_UNITS)}"
    if medication.frequency not in clinical.FREQUENCIES:
        errors["frequency"] = f"must be one of {', '.join(clinical.FREQUENCIES)}"
    if not medication.source.strip() or len(medication.source) > MAX_SOURCE_LENGTH:
        errors["source"] = f"say who prescribes it, or 'over the counter' (at most {MAX_SOURCE_LENGTH} characters)"
    if medication.start_date is not None and medication.start_date > today:
        errors["start date"] = "cannot be in the future"
    if len(medication.override_reason) > MAX_REASON_LENGTH or len(medication.indication) > 120:
        errors["reason"] = f"at most {MAX_REASON_LENGTH} characters"
    daily_mg = 0.0
    if not errors:
        try:
            daily_mg = clinical.daily_dose_mg(dose, medication.unit, medication.frequency)
        except ValueError as error:
            errors["dose"] = str(error)
    if errors:
        raise InvalidInput(errors)
    # The reference's canonical name where it knows the medication (brands, salts, strengths); else as typed.
    return clinical.resolve_medication(name) or name, daily_mg


def review_outside_medication(
    actor: Actor, patient_id: int, medication: OutsideMedicationInput, *, engine: Engine | None = None
) -> SafetyReview:
    """The review the outside-medication form shows before saving (reads only)."""
    drug, daily_mg = _validate_outside(medication, program_today())
    with read_session(engine) as session:
        patient = require_patient(session, actor, patient_id, "record_outside_medication")
        return _review_outside(session, actor, patient, drug, daily_mg, medication)


def _review_outside(
    session: Session, actor: Actor, patient: Patient, drug: str, daily_mg: float, medication: OutsideMedicationInput
) -> SafetyReview:
    [review] = review_new_medications(
        session,
        patient,
        [ProposedMedication(drug=drug, daily_mg=daily_mg, prescribed_here=False)],
        licensed_states=actor.licensed_states,
        event="start",
        today=program_today(),
    )
    return review


def record_outside_medication(
    actor: Actor,
    patient_id: int,
    medication: OutsideMedicationInput,
    *,
    expected_patient_version: int,
    submission: str | None = None,
    engine: Engine | None = None,
) -> Prescription:
    """Record a medication prescribed elsewhere so that every later review screens it. It is reviewed like a new
    prescription against the active ones and the allergies (a contraindicated pair or an allergy match needs a
    documented reason, a major interaction an acknowledgement), and kept as a course with ``is_psychiatric``
    False and its source; the program's prescribing rules do not apply to it."""
    today = program_today()
    drug, daily_mg = _validate_outside(medication, today)
    with write_session(engine) as session:
        patient = require_patient(session, actor, patient_id, "record_outside_medication")
        claim = claim_submission(session, actor, submission, "record_outside_medication")
        _check_version(patient, expected_patient_version, "patient's record")
        review = _review_outside(session, actor, patient, drug, daily_mg, medication)
        order = MedicationOrder(
            drug=drug,
            dose=medication.dose,
            unit=medication.unit,
            frequency=medication.frequency,
            reason="",
            override_reason=medication.override_reason,
            acknowledge_major=medication.acknowledge_major,
        )
        problems = review.problems_for(order)
        if problems:
            raise SafetyBlock(problems)
        entry = clinical.formulary_entry(drug) if clinical.resolve_drug(drug) else None
        prescription = Prescription(
            patient_id=patient.id,
            drug=drug,
            rxnorm=entry.rxnorm if entry else None,
            dose=float(medication.dose),
            unit=medication.unit,
            frequency=medication.frequency,
            daily_dose_mg=daily_mg,
            indication=medication.indication.strip() or None,
            status="active",
            is_psychiatric=False,
            source=medication.source.strip(),
            start_date=medication.start_date or today,
        )
        add_started_prescription(
            session,
            prescription,
            reason=f"Prescribed elsewhere: {medication.source.strip()}",
            override_reason=medication.override_reason.strip() or None,
            author_id=actor.user_id,
        )
        # Recording it changes what every later review of this patient sees: refuse forms opened before.
        patient.next_visit_due = patient.next_visit_due
        flag_modified(patient, "next_visit_due")
        session.flush()
        record_event(
            session,
            actor,
            "record_outside_medication",
            patient_id=patient.id,
            data_category="medication",
            record_type="prescription",
            record_id=prescription.id,
            detail=f"{drug} {medication.dose:g} {medication.unit} {medication.frequency} from "
            f"{medication.source.strip()[:80]}"
            + (f"; override: {medication.override_reason.strip()}" if medication.override_reason.strip() else ""),
        )
        settle_submission(
            claim,
            record_type="prescription",
            record_id=prescription.id,
            outcome=f"Recorded {drug} {medication.dose:g} {medication.unit} {medication.frequency} "
            f"({medication.source.strip()[:80]}).",
        )
        return prescription
