"""FHIR R4 writes: auditing a bulk export, importing self-reported PHQ-9/GAD-7, onboarding a patient.

Self-reports are checked one by one: a malformed, unmatched or duplicate resource gets its own result and
never stops the valid ones in the same file, which are stored in one transaction with their flags and audit
events. Onboarding is all or nothing: one bad resource and no patient is created.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, select, true
from sqlalchemy.exc import IntegrityError

import clinical
from clinical.diagnoses import diagnosis
from db.audit import record_event
from db.commands import InvalidInput
from db.commands.flags import raise_flags
from db.commands.intake import ICD10_PATTERN
from db.commands.medications import add_started_prescription
from db.commands.users import US_STATES
from db.commands.visits import previous_totals
from db.engine import read_session, utcnow, write_session
from db.fhir.parsing import (
    FhirInputError,
    InputResource,
    SelfReport,
    parse_onboarding,
    parse_self_report,
    patient_mrns,
    read_resources,
)
from db.models import SEXES, Allergy, Assessment, Diagnosis, Patient, Prescription, User
from db.permissions import Actor, import_scope, require
from db.queries.caseload import program_today
from db.queries.patients import age_on

SELF_REPORT_SOURCE = "self-report"  # the Assessment.source value the seed and the app use for self-reports
IMPORTED = "imported"
DUPLICATE = "duplicate"
REJECTED = "rejected"


@dataclass(frozen=True)
class ImportResult:
    """What happened to one resource of an import file (shown to the user as a table of text)."""

    resource: str
    status: str  # imported, duplicate, rejected
    detail: str
    mrn: str = ""
    instrument: str = ""
    total: int | None = None
    flags: str = ""


def _rejected(label: str, reason: str, report: SelfReport | None = None) -> ImportResult:
    return ImportResult(label, REJECTED, reason, report.mrn if report else "", report.instrument if report else "")


def _read_payload(
    actor: Actor | None, capability: str, payload: bytes | str, engine: Engine | None
) -> list[InputResource]:
    """Check the capability (``actor`` None: the system), then split the file into resources."""
    if actor is not None:
        with read_session(engine):  # a refusal raised inside a session is audited
            require(actor, capability)
    try:
        return read_resources(payload)
    except FhirInputError as error:
        raise InvalidInput({"file": str(error)}) from error


def import_self_reports(
    actor: Actor | None, payload: bytes | str, *, engine: Engine | None = None
) -> list[ImportResult]:
    """Import patient self-reports (PHQ-9 / GAD-7 as QuestionnaireResponse or Observation) from a Bundle or
    NDJSON. ``actor`` None is the system (command line). Returns one result per resource, in file order."""
    items = _read_payload(actor, "import_self_reports", payload, engine)
    mrns = patient_mrns(items)
    results: list[ImportResult | None] = []
    reports: list[tuple[int, str, SelfReport]] = []
    for item in items:
        if item.resource is None:
            results.append(_rejected(item.label, item.error or "unreadable"))
        elif item.resource.get("resourceType") == "Patient":
            results.append(None)  # used only to match reports to MRNs
        else:
            parsed = parse_self_report(item.resource, mrns)
            if isinstance(parsed, str):
                results.append(_rejected(item.label, parsed))
            else:
                reports.append((len(results), item.label, parsed))
                results.append(None)
    now = utcnow()
    with write_session(engine) as session:
        wanted = {report.mrn for _, _, report in reports}
        visible = dict(
            session.execute(
                select(Patient.mrn, Patient.id).where(
                    Patient.mrn.in_(wanted), import_scope(actor) if actor is not None else true()
                )
            ).all()
        )
        existing = set(
            session.scalars(
                select(Assessment.external_id).where(Assessment.external_id.in_([r.external_id for _, _, r in reports]))
            )
        )
        # Oldest first, so each report is compared with the one before it (the rise-by-MCID rule).
        for index, label, report in sorted(reports, key=lambda r: r[2].administered_at):
            results[index] = _store_report(session, actor, label, report, visible, existing, now)
        imported = [r for r in results if r is not None and r.status == IMPORTED]
        record_event(
            session,
            actor,
            "import_self_reports",
            data_category="assessment",
            record_type="fhir_import",
            detail=f"{len(imported)} imported, "
            f"{sum(1 for r in results if r is not None and r.status == DUPLICATE)} duplicates, "
            f"{sum(1 for r in results if r is not None and r.status == REJECTED)} rejected",
        )
    return [result for result in results if result is not None]


def _store_report(
    session,  # type: ignore[no-untyped-def]
    actor: Actor | None,
    label: str,
    report: SelfReport,
    visible: dict[str, int],
    existing: set[str],
    now: datetime,
) -> ImportResult:
    patient_id = visible.get(report.mrn)
    if patient_id is None:
        # The same answer for an unknown MRN and one outside the caseload: it reveals nothing.
        return _rejected(label, f"no patient with MRN {report.mrn} in your scope", report)
    if report.external_id in existing:
        return ImportResult(label, DUPLICATE, f"already imported ({report.external_id})", report.mrn, report.instrument)
    if report.administered_at > now + timedelta(minutes=5):
        return _rejected(label, "dated in the future", report)
    try:
        score = clinical.score_instrument(report.instrument, report.answers)
    except ValueError as error:
        return _rejected(label, str(error), report)
    if report.stated_total is not None and report.stated_total != score.total:
        return _rejected(label, f"stated total {report.stated_total} differs from the item sum {score.total}", report)
    # Compared with the score before this report, however late the report arrives.
    previous = previous_totals(session, patient_id, before=report.administered_at)
    assessment = Assessment(
        patient_id=patient_id,
        instrument=score.instrument,
        answers=report.answers,
        total=score.total,
        severity=score.severity,
        administered_at=report.administered_at,
        source=SELF_REPORT_SOURCE,
        entered_by_id=actor.user_id if actor else None,
        external_id=report.external_id,
    )
    try:
        with session.begin_nested():
            session.add(assessment)
            session.flush()
    except IntegrityError:  # another import stored the same report a moment ago
        return ImportResult(label, DUPLICATE, f"already imported ({report.external_id})", report.mrn, report.instrument)
    existing.add(report.external_id)
    raised = raise_flags(
        session,
        actor,
        patient_id,
        clinical.flags_for_score(score, previous.get(score.instrument)),
        source_table="assessments",
        source_id=assessment.id,
        raised_at=report.administered_at,
    )
    record_event(
        session,
        actor,
        "import_self_report",
        patient_id=patient_id,
        data_category="assessment",
        record_type="assessment",
        record_id=assessment.id,
        detail=f"{score.instrument} total {score.total} ({report.external_id}); {len(raised)} flags",
    )
    return ImportResult(
        label,
        IMPORTED,
        f"{score.instrument} {score.total} ({score.severity})",
        report.mrn,
        score.instrument,
        score.total,
        ", ".join(f"{o.flag.severity} {o.flag.kind}{'' if o.is_new else ' (added to the open flag)'}" for o in raised),
    )


@dataclass(frozen=True)
class OnboardResult:
    patient_id: int
    mrn: str
    diagnoses: int
    allergies: int
    medications: int
    ignored: int


def _formulary_by_rxnorm() -> dict[str, str]:
    return {entry.rxnorm: entry.name for entry in clinical.formulary() if entry.rxnorm}


def onboard_patient(
    actor: Actor | None,
    payload: bytes | str,
    *,
    prescriber_username: str | None = None,
    engine: Engine | None = None,
) -> OnboardResult:
    """Create a new patient (phase intake) from a Bundle with a Patient and its Conditions, AllergyIntolerances
    and MedicationStatements (active MedicationRequests are taken as current medications too). Formulary drugs
    are dose-checked and become program prescriptions; others need an RxNorm code and are kept as outside
    medications. Unassigned unless a prescriber is named (the team follows the prescriber)."""
    items = _read_payload(actor, "import_patients", payload, engine)
    onboarding, errors = parse_onboarding(items)
    today = program_today()
    if onboarding.state and onboarding.state not in US_STATES:
        errors["Patient state"] = f"{onboarding.state!r} is not a US state code"
    if onboarding.sex not in SEXES:
        errors["Patient gender"] = f"must be one of {', '.join(SEXES)}"
    if onboarding.date_of_birth and not (date(1900, 1, 1) <= onboarding.date_of_birth <= today):
        errors["Patient birthDate"] = "must be a past date"
    primaries = [primary for *_, primary in onboarding.diagnoses if primary]
    if len(primaries) > 1:
        errors["Condition"] = "at most one diagnosis may be marked primary"
    for code, description, _ in onboarding.diagnoses:
        if not ICD10_PATTERN.match(code):
            errors[f"Condition {code}"] = "is not an ICD-10-CM code (for example F33.1)"
        elif not description and diagnosis(code) is None:
            errors[f"Condition {code}"] = "needs a description (the code is not in the reference data)"
    by_rxnorm = _formulary_by_rxnorm()
    medications: list[tuple[str, str | None, float, bool]] = []  # canonical drug, rxnorm, daily mg, psychiatric
    age = age_on(onboarding.date_of_birth, today) if onboarding.date_of_birth else None
    for medication in onboarding.medications:
        canonical = by_rxnorm.get(medication.rxnorm or "") or clinical.resolve_drug(medication.drug)
        try:
            daily_mg = clinical.daily_dose_mg(medication.dose, medication.unit, medication.frequency)
        except ValueError as error:
            errors[medication.source] = str(error)
            continue
        if canonical is None:
            if not medication.rxnorm or not medication.drug:
                errors[medication.source] = (
                    f"{medication.drug or 'medication'} is not in the formulary and has no RxNorm code"
                )
                continue
            medications.append((medication.drug, medication.rxnorm, daily_mg, False))
            continue
        check = clinical.check_dose(canonical, daily_mg, age=age, indication=medication.indication)
        if check.status in ("above_max", "invalid"):
            errors[medication.source] = check.message
            continue
        medications.append((canonical, clinical.formulary_entry(canonical).rxnorm, daily_mg, True))
    if errors:
        raise InvalidInput(errors)
    with write_session(engine) as session:
        if session.scalar(select(Patient.id).where(Patient.mrn == onboarding.mrn)) is not None:
            raise InvalidInput({"Patient": f"MRN {onboarding.mrn} is already in the program"})
        prescriber = None
        if prescriber_username:
            prescriber = session.scalar(
                select(User).where(
                    User.username == prescriber_username.strip().lower(), User.role == "prescriber", User.is_active
                )
            )
            if prescriber is None:
                raise InvalidInput({"prescriber": f"no active prescriber {prescriber_username!r}"})
        patient = Patient(
            mrn=onboarding.mrn,
            given_name=onboarding.given_name,
            family_name=onboarding.family_name,
            date_of_birth=onboarding.date_of_birth,
            sex=onboarding.sex,
            state_of_residence=onboarding.state,
            program_phase="intake",
            program_start_date=today,
            prescriber_id=prescriber.id if prescriber else None,
            team_id=prescriber.team_id if prescriber else None,
        )
        session.add(patient)
        session.flush()
        first_is_primary = not primaries
        for number, (code, description, primary) in enumerate(onboarding.diagnoses):
            reference = diagnosis(code)
            session.add(
                Diagnosis(
                    patient_id=patient.id,
                    icd10_code=code,
                    description=description or (reference.display if reference else code),
                    is_primary=bool(primary) or (first_is_primary and number == 0),
                )
            )
        for substance, reaction, severity in onboarding.allergies:
            session.add(Allergy(patient_id=patient.id, substance=substance, reaction=reaction, severity=severity))
        for medication, (drug, rxnorm, daily_mg, psychiatric) in zip(onboarding.medications, medications, strict=True):
            prescription = Prescription(
                patient_id=patient.id,
                drug=drug,
                rxnorm=rxnorm,
                dose=medication.dose,
                unit=medication.unit,
                frequency=medication.frequency,
                route=medication.route,
                daily_dose_mg=daily_mg,
                indication=medication.indication,
                status="active",
                is_psychiatric=psychiatric,
                start_date=medication.start_date or today,
                prescriber_id=prescriber.id if prescriber and psychiatric else None,
            )
            add_started_prescription(
                session,
                prescription,
                reason=f"onboarded from FHIR {medication.source}",
                author_id=actor.user_id if actor else None,
            )
        record_event(
            session,
            actor,
            "onboard_patient",
            patient_id=patient.id,
            data_category="demographics",
            record_type="patient",
            record_id=patient.id,
            detail=f"from FHIR: {len(onboarding.diagnoses)} conditions, {len(onboarding.allergies)} allergies, "
            f"{len(medications)} medications; prescriber {prescriber.username if prescriber else 'unassigned'}",
        )
        return OnboardResult(
            patient.id,
            patient.mrn,
            len(onboarding.diagnoses),
            len(onboarding.allergies),
            len(medications),
            onboarding.ignored,
        )
