"""Importing a whole bulk export (``python -m db.fhir import-bulk DIR``): every patient with their diagnoses,
allergies, visits and vital signs, medication courses with their dose history, and scored instruments.

Meant for moving a program into an empty database (or a new site): a patient whose MRN is already here is
skipped as a duplicate, so running it twice writes nothing twice. Each patient is one transaction, all or
nothing: a patient with any resource that cannot be read is not imported, with every reason.

The same safety checks as the other paths to the same outcome, where they apply:
- scores are re-scored by the rules engine (a stated total that differs refuses the patient), and each patient's
  newest score per instrument goes through the flag rules, as a self-report import would (a positive self-harm
  item on the latest PHQ-9 raises its urgent flag); older history raises no flag;
- active medications go through the prescriber's safety review (``review_new_medications``: dose, interactions,
  allergies, reproductive safety, controlled substance), as history already being taken (``prescribed_here``
  False: no licence, PDMP or telehealth rule is applied to a prescription nobody is writing now, and no lab is
  ordered). A file cannot give an override or an acknowledgement, and refusing a medication a patient takes
  would hide it from every later interaction check, so each medication the review would not let through
  without a prescriber is imported and a high ``imported_medication_review`` flag names every reason;
- patients arrive unassigned unless a prescriber is named (``--prescriber``), like onboarding.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import clinical
from clinical.diagnoses import diagnosis
from db.audit import record_event
from db.commands import InvalidInput
from db.commands.flags import raise_flags
from db.commands.medications import MAX_DAILY_DOSE_SANITY_MG, ProposedMedication, review_new_medications
from db.commands.users import US_STATES
from db.engine import read_session, write_session
from db.fhir.export_reading import ChartInput, CourseInput, read_export
from db.fhir.parsing import FhirInputError
from db.models import (
    SEXES,
    Allergy,
    Assessment,
    Diagnosis,
    DoseChange,
    Patient,
    Prescription,
    User,
    Visit,
)
from db.permissions import Actor, require
from db.queries.caseload import program_today
from db.summary import refresh_patient_summary

IMPORTED = "imported"
DUPLICATE = "duplicate"
REJECTED = "rejected"
BULK_STATUSES = (IMPORTED, DUPLICATE, REJECTED)
MEDICATION_REVIEW_FLAG = "imported_medication_review"


@dataclass(frozen=True)
class PatientImport:
    """What happened to one patient of the export."""

    mrn: str
    status: str  # one of BULK_STATUSES
    detail: str
    flags: str = ""


def import_bulk(
    actor: Actor | None,
    directory: Path,
    *,
    prescriber_username: str | None = None,
    engine: Engine | None = None,
) -> list[PatientImport]:
    """Import every patient of the export in ``directory`` (see the module docstring). ``actor`` None is the
    system (command line); otherwise the actor needs ``import_patients`` (administrators)."""
    if actor is not None:
        with read_session(engine):  # a refusal raised inside a session is audited
            require(actor, "import_patients")
    try:
        charts, unreadable = read_export(directory)
    except FhirInputError as error:
        raise InvalidInput({"export": str(error)}) from error
    except OSError as error:
        raise InvalidInput({"export": f"cannot be read ({error.strerror})"}) from error
    results = [PatientImport("", REJECTED, f"{item.position}: {item.error}") for item in unreadable]
    prescriber = _prescriber(prescriber_username, engine) if prescriber_username else None
    for chart in charts:
        results.append(_import_chart(actor, chart, prescriber, engine))
    with write_session(engine, actor=actor, capability="import_patients") as session:
        record_event(
            session,
            actor,
            "import_bulk",
            data_category="demographics",
            record_type="fhir_bulk_import",
            detail=f"{directory.name}: "
            + ", ".join(f"{sum(1 for r in results if r.status == status)} {status}" for status in BULK_STATUSES),
        )
    return results


def _prescriber(username: str, engine: Engine | None) -> User:
    with read_session(engine) as session:
        prescriber = session.scalar(
            select(User).where(User.username == username.strip().lower(), User.role == "prescriber", User.is_active)
        )
    if prescriber is None:
        raise InvalidInput({"prescriber": f"no active prescriber {username!r}"})
    return prescriber


def _check(chart: ChartInput, today: date) -> dict[str, str]:
    """Problems the values show once read (as onboarding checks them): nothing of the patient is imported."""
    errors = dict(chart.errors)
    onboarding = chart.onboarding
    if onboarding.state and onboarding.state not in US_STATES:
        errors["Patient state"] = f"{onboarding.state!r} is not a US state code"
    if onboarding.sex not in SEXES:
        errors["Patient gender"] = f"must be one of {', '.join(SEXES)}"
    if onboarding.date_of_birth and not (date(1900, 1, 1) <= onboarding.date_of_birth <= today):
        errors["Patient birthDate"] = "must be a past date"
    for course in chart.courses:
        for step in course.steps:
            try:
                daily = clinical.daily_dose_mg(step.medication.dose, step.medication.unit, step.medication.frequency)
            except ValueError as error:
                errors[course.source] = str(error)
                break
            if daily > MAX_DAILY_DOSE_SANITY_MG:
                errors[course.source] = f"{daily:g} mg/day is not a plausible dose (check the unit)"
                break
    for score in chart.scores:
        try:
            result = clinical.score_instrument(score.instrument, score.answers, sex=onboarding.sex)
        except ValueError as error:
            errors[score.source] = str(error)
            continue
        if score.stated_total is not None and score.stated_total != result.total:
            errors[score.source] = f"stated total {score.stated_total} differs from the item sum {result.total}"
    return errors


def _import_chart(
    actor: Actor | None, chart: ChartInput, prescriber: User | None, engine: Engine | None
) -> PatientImport:
    today = program_today()
    mrn = chart.onboarding.mrn or chart.patient_reference
    errors = _check(chart, today)
    if errors:
        return PatientImport(mrn, REJECTED, "; ".join(f"{where}: {why}" for where, why in errors.items()))
    with write_session(engine, actor=actor, capability="import_patients") as session:
        if session.scalar(select(Patient.id).where(Patient.mrn == chart.onboarding.mrn)) is not None:
            return PatientImport(mrn, DUPLICATE, "already in the program: nothing imported")
        patient = _add_patient(session, chart, prescriber, today)
        visit_ids = _add_visits(session, patient, chart)
        flags = _add_medications(session, actor, patient, chart, prescriber, today)
        flags += _add_scores(session, actor, patient, chart, visit_ids)
        refresh_patient_summary(session, patient.id)
        counts = (
            f"{len(chart.onboarding.diagnoses)} conditions, {len(chart.onboarding.allergies)} allergies, "
            f"{len(chart.visits)} visits, {sum(len(v.vitals) > 0 for v in chart.visits)} with vitals, "
            f"{len(chart.courses)} medication courses, {len(chart.scores)} scores; "
            f"{chart.not_imported} resources not imported (labs, orders and others)"
        )
        record_event(
            session,
            actor,
            "import_bulk_patient",
            patient_id=patient.id,
            data_category="demographics",
            record_type="patient",
            record_id=patient.id,
            detail=f"from a FHIR bulk export: {counts}; {len(flags)} flags",
        )
        return PatientImport(mrn, IMPORTED, counts, ", ".join(flags))


def _add_patient(session: Session, chart: ChartInput, prescriber: User | None, today: date) -> Patient:
    onboarding = chart.onboarding
    dates = [visit.visit_at.date() for visit in chart.visits] + [s.administered_at.date() for s in chart.scores]
    dates += [course.steps[0].at.date() for course in chart.courses if course.prescribed_here]
    patient = Patient(
        mrn=onboarding.mrn,
        given_name=onboarding.given_name,
        family_name=onboarding.family_name,
        date_of_birth=onboarding.date_of_birth,
        sex=onboarding.sex,
        state_of_residence=onboarding.state,
        # The export carries no program phase: an active patient starts in intake (the prescriber sets the
        # phase); an inactive one is discharged. The program start is the first date in the chart.
        program_phase="intake" if chart.active else "discharged",
        program_start_date=min(dates, default=today),
        prescriber_id=prescriber.id if prescriber else None,
        team_id=prescriber.team_id if prescriber else None,
    )
    session.add(patient)
    session.flush()
    primaries = [primary for *_, primary in onboarding.diagnoses if primary]
    for number, (code, description, primary) in enumerate(onboarding.diagnoses):
        reference = diagnosis(code)
        session.add(
            Diagnosis(
                patient_id=patient.id,
                icd10_code=code,
                description=description or (reference.display if reference else code),
                is_primary=bool(primary) or (not primaries and number == 0),
            )
        )
    for substance, reaction, severity in onboarding.allergies:
        session.add(Allergy(patient_id=patient.id, substance=substance, reaction=reaction, severity=severity))
    session.flush()
    return patient


def _add_visits(session: Session, patient: Patient, chart: ChartInput) -> dict[str, int]:
    ids: dict[str, int] = {}
    for visit in chart.visits:
        row = Visit(
            patient_id=patient.id,
            visit_type=visit.visit_type,
            visit_at=visit.visit_at,
            modality=visit.modality,
            duration_minutes=visit.duration_minutes,
            **visit.vitals,
        )
        session.add(row)
        session.flush()
        ids[visit.reference] = row.id
    return ids


def _canonical(course: CourseInput) -> tuple[str, str | None, bool]:
    """The drug name, RxNorm code and whether it is a formulary (psychiatric) drug of the program."""
    medication = course.current
    by_rxnorm = {entry.rxnorm: entry.name for entry in clinical.formulary() if entry.rxnorm}
    canonical = by_rxnorm.get(medication.rxnorm or "") or clinical.resolve_drug(medication.drug)
    if canonical is not None and course.prescribed_here:
        return canonical, clinical.formulary_entry(canonical).rxnorm or medication.rxnorm, True
    # A coded medication without text gets its name from the code, so the review can screen it.
    by_code = clinical.drug_for_rxnorm(medication.rxnorm) if medication.rxnorm else None
    return medication.drug or by_code or canonical or f"RxNorm {medication.rxnorm}", medication.rxnorm, False


def _add_medications(
    session: Session,
    actor: Actor | None,
    patient: Patient,
    chart: ChartInput,
    prescriber: User | None,
    today: date,
) -> list[str]:
    """Every course with its dose history; active ones through the safety review first (see module docstring)."""
    active = [course for course in chart.courses if not course.stopped]
    named = {id(course): _canonical(course) for course in chart.courses}
    reviews = review_new_medications(
        session,
        patient,
        [
            ProposedMedication(
                drug=named[id(course)][0],
                daily_mg=clinical.daily_dose_mg(course.current.dose, course.current.unit, course.current.frequency),
                indication=course.current.indication,
                prescribed_here=False,  # already taken: screened, not held to the rules for writing it now
            )
            for course in active
        ],
        licensed_states=(),
        event="start",
        today=today,
    )
    needing_review = {
        id(course): [
            *review.blocking,
            *(f"{item} (needs a prescriber's documented override)" for item in review.needs_override),
            *(f"{item} (needs a prescriber's acknowledgement)" for item in review.needs_acknowledgement),
            *review.controlled_requirements,
        ]
        for course, review in zip(active, reviews, strict=True)
    }
    author = actor.user_id if actor else None
    flags: list[str] = []
    for course in sorted(chart.courses, key=lambda c: c.steps[0].at):
        drug, rxnorm, psychiatric = named[id(course)]
        first, last = course.steps[0], course.current
        prescription = Prescription(
            patient_id=patient.id,
            drug=drug,
            rxnorm=rxnorm,
            dose=last.dose,
            unit=last.unit,
            frequency=last.frequency,
            route=last.route,
            daily_dose_mg=clinical.daily_dose_mg(last.dose, last.unit, last.frequency),
            indication=last.indication,
            quantity=course.quantity,
            days_supply=course.days_supply,
            status="stopped" if course.stopped else "active",
            is_psychiatric=psychiatric and course.prescribed_here,
            source=None if course.prescribed_here else "outside prescriber (imported)",
            start_date=first.at.date() if course.prescribed_here else (first.medication.start_date or first.at.date()),
            stop_date=course.stop_date,
            stop_reason=course.stop_reason,
            prescriber_id=prescriber.id if prescriber and course.prescribed_here else None,
            created_at=first.at,
        )
        session.add(prescription)
        session.flush()
        previous: tuple[float, str, float] | None = None
        for step in course.steps:
            medication = step.medication
            daily = clinical.daily_dose_mg(medication.dose, medication.unit, medication.frequency)
            change = "start" if previous is None else _change_type(previous[2], daily)
            session.add(
                DoseChange(
                    prescription_id=prescription.id,
                    patient_id=patient.id,
                    changed_at=step.at,
                    change_type=change,
                    drug=drug,
                    old_dose=previous[0] if previous else None,
                    new_dose=medication.dose,
                    unit=medication.unit,
                    old_frequency=previous[1] if previous else None,
                    new_frequency=medication.frequency,
                    old_daily_mg=previous[2] if previous else None,
                    new_daily_mg=daily,
                    reason=f"imported from FHIR {course.source}",
                    author_id=author,
                )
            )
            previous = (medication.dose, medication.frequency, daily)
        if course.stopped:
            stop_at = datetime.combine(course.stop_date or course.steps[-1].at.date(), datetime.min.time())
            session.add(
                DoseChange(
                    prescription_id=prescription.id,
                    patient_id=patient.id,
                    changed_at=max(stop_at, course.steps[-1].at),
                    change_type="stop",
                    drug=drug,
                    old_dose=last.dose,
                    new_dose=None,
                    unit=last.unit,
                    old_frequency=last.frequency,
                    old_daily_mg=previous[2] if previous else None,
                    reason=course.stop_reason or f"stopped (imported from FHIR {course.source})",
                    author_id=author,
                )
            )
        session.flush()
        reasons = needing_review.get(id(course)) or []
        if reasons:
            finding = clinical.FlagFinding(
                kind=MEDICATION_REVIEW_FLAG,
                severity="high",
                cause=f"{MEDICATION_REVIEW_FLAG}:{drug}"[:200],
                summary=f"Imported {drug} {last.dose:g} {last.unit} {last.frequency}: "
                + "; ".join(reasons)
                + ". No prescriber has reviewed this yet.",
            )
            raised = raise_flags(
                session, actor, patient.id, [finding], source_table="prescriptions", source_id=prescription.id
            )
            flags += [f"{o.flag.severity} {o.flag.kind} ({drug})" for o in raised]
    return flags


def _change_type(old_daily: float, new_daily: float) -> str:
    if new_daily > old_daily:
        return "increase"
    if new_daily < old_daily:
        return "decrease"
    return "change"


def _add_scores(
    session: Session, actor: Actor | None, patient: Patient, chart: ChartInput, visit_ids: dict[str, int]
) -> list[str]:
    """Every score, re-scored; then the flag rules on each instrument's newest score (against the one before)."""
    stored: dict[str, list[tuple[Assessment, clinical.InstrumentScore]]] = defaultdict(list)
    for score in sorted(chart.scores, key=lambda s: s.administered_at):
        result = clinical.score_instrument(score.instrument, score.answers, sex=patient.sex)
        row = Assessment(
            patient_id=patient.id,
            instrument=result.instrument,
            answers=score.answers,
            total=result.total,
            severity=result.severity,
            administered_at=score.administered_at,
            source="visit" if score.encounter else "self-report",
            visit_id=visit_ids[score.encounter] if score.encounter else None,
            entered_by_id=actor.user_id if actor else None,
            external_id=score.external_id,
        )
        session.add(row)
        stored[result.instrument].append((row, result))
    session.flush()
    flags: list[str] = []
    for history in stored.values():
        newest_row, newest = history[-1]
        previous = history[-2][1].total if len(history) > 1 else None
        raised = raise_flags(
            session,
            actor,
            patient.id,
            clinical.flags_for_score(newest, previous),
            source_table="assessments",
            source_id=newest_row.id,
            raised_at=newest_row.administered_at,
        )
        flags += [f"{o.flag.severity} {o.flag.kind}" for o in raised]
    return flags


__all__ = ["BULK_STATUSES", "PatientImport", "import_bulk"]
