"""FHIR R4 writes: auditing a bulk export, importing self-reported PHQ-9/GAD-7, onboarding a patient.

Self-reports are checked one by one: a malformed, unmatched or duplicate resource gets its own result and
never stops the valid ones in the same file, which are stored in one transaction with their flags and audit
events. A correction of a stored report is stored as a new version that supersedes it (the original is kept).
A report its sender withdraws (status entered-in-error) is marked retracted, kept, and left out of every score
reading; the flags it alone raised are closed with a note.
Onboarding is all or nothing: one bad resource, or one medication the prescriber's safety review would not
allow without a prescriber's decision, and no patient is created.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import clinical
from clinical.diagnoses import diagnosis
from db.audit import record_event
from db.commands import InvalidInput, SafetyBlock
from db.commands.flags import raise_flags, withdraw_findings
from db.commands.intake import ICD10_PATTERN
from db.commands.medications import (
    MAX_DAILY_DOSE_SANITY_MG,
    PDMP_NOT_ATTESTED,
    ProposedMedication,
    add_started_prescription,
    review_new_medications,
)
from db.commands.users import US_STATES
from db.commands.visits import previous_totals
from db.engine import read_session, utcnow, write_session
from db.fhir.parsing import (
    FhirInputError,
    InputResource,
    MedicationInput,
    Retraction,
    SelfReport,
    parse_onboarding,
    parse_self_report,
    patient_mrns,
    read_resources,
)
from db.models import SEXES, Allergy, Amendment, Assessment, Diagnosis, Patient, Prescription, User
from db.permissions import Actor, import_scope, require
from db.queries.caseload import program_today
from db.summary import refresh_patient_summary

SELF_REPORT_SOURCE = "self-report"  # the Assessment.source value the seed and the app use for self-reports
IMPORTED = "imported"
AMENDED = "amended"  # a correction, stored as a new version of the report it corrects
RETRACTED = "retracted"  # withdrawn by the sender (entered-in-error): kept, marked, out of every score reading
DUPLICATE = "duplicate"
REJECTED = "rejected"
STATUSES = (IMPORTED, AMENDED, RETRACTED, DUPLICATE, REJECTED)


@dataclass(frozen=True)
class ImportResult:
    """What happened to one resource of an import file (shown to the user as a table of text)."""

    resource: str
    status: str  # one of STATUSES
    detail: str
    mrn: str = ""
    instrument: str = ""
    total: int | None = None
    flags: str = ""


def _rejected(label: str, reason: str, report: SelfReport | Retraction | None = None) -> ImportResult:
    return ImportResult(
        label, REJECTED, reason, report.mrn if report else "", (report.instrument or "") if report else ""
    )


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
    NDJSON. ``actor`` None is the system (command line). Returns one result per resource, in file order.

    A report whose identifier is already stored is a duplicate when it says the same, a new version of the
    stored report (result ``amended``) when it is sent as a correction (status amended/corrected), and refused
    otherwise: a changed report is never dropped as a duplicate, nor silently replaces what was stored. A
    report sent with status entered-in-error retracts the stored report with its identifier (result
    ``retracted``; again: ``duplicate``; no such report: ``rejected``), after the file's other reports."""
    items = _read_payload(actor, "import_self_reports", payload, engine)
    mrns = patient_mrns(items)
    results: list[ImportResult | None] = []
    reports: list[tuple[int, str, SelfReport]] = []
    retractions: list[tuple[int, str, Retraction]] = []
    for item in items:
        if item.resource is None:
            results.append(_rejected(item.label, item.error or "unreadable"))
        elif item.resource.get("resourceType") == "Patient":
            results.append(None)  # used only to match reports to MRNs
        else:
            parsed = parse_self_report(item.resource, mrns)
            if isinstance(parsed, str):
                results.append(_rejected(item.label, parsed))
            elif isinstance(parsed, Retraction):
                retractions.append((len(results), item.label, parsed))
                results.append(None)
            else:
                reports.append((len(results), item.label, parsed))
                results.append(None)
    now = utcnow()
    with write_session(engine, actor=actor, capability="import_self_reports") as session:
        wanted = {report.mrn for _, _, report in reports} | {retraction.mrn for _, _, retraction in retractions}
        patients = {
            mrn: (patient_id, born)
            for mrn, patient_id, born in session.execute(
                select(Patient.mrn, Patient.id, Patient.date_of_birth).where(
                    Patient.mrn.in_(wanted), import_scope(actor) if actor is not None else true()
                )
            )
        }
        versions: dict[str, list[Assessment]] = defaultdict(list)  # every stored version, by sender identifier
        for stored in session.scalars(
            select(Assessment)
            .where(Assessment.external_id.in_({r.external_id for _, _, r in [*reports, *retractions]}))
            .order_by(Assessment.id)
        ):
            versions[str(stored.external_id)].append(stored)
        batch = _ImportBatch(session, actor, patients, versions, now)
        for index, label, report in _in_storing_order(reports):
            results[index] = batch.store(label, report)
        for index, label, retraction in retractions:  # after the reports: a file may send one and withdraw it
            results[index] = batch.retract(label, retraction)
        refresh_patient_summary(session, [patient_id for patient_id, _ in patients.values()])
        done = [r for r in results if r is not None]
        record_event(
            session,
            actor,
            "import_self_reports",
            data_category="assessment",
            record_type="fhir_import",
            detail=", ".join(f"{sum(1 for r in done if r.status == status)} {status}" for status in STATUSES),
        )
    return done


def _in_storing_order(reports: list[tuple[int, str, SelfReport]]) -> list[tuple[int, str, SelfReport]]:
    """Oldest first, so each report is compared with the one before it (the rise-by-MCID rule); reports that
    share an identifier stay together in file order, so a correction follows the report it corrects and of
    two different reports with one identifier the second in the file is the one refused."""
    by_identifier: dict[str, list[tuple[int, str, SelfReport]]] = defaultdict(list)
    for entry in reports:
        by_identifier[entry[2].external_id].append(entry)
    groups = sorted(by_identifier.values(), key=lambda group: min(report.administered_at for _, _, report in group))
    return [entry for group in groups for entry in group]


def _same_report(stored: Assessment, patient_id: int, report: SelfReport) -> bool:
    return (stored.patient_id, stored.instrument, list(stored.answers or []), stored.administered_at) == (
        patient_id,
        report.instrument,
        report.answers,
        report.administered_at,
    )


class _ImportBatch:
    """Stores the reports of one file in the caller's transaction, remembering what it stored."""

    def __init__(
        self,
        session: Session,
        actor: Actor | None,
        patients: dict[str, tuple[int, date]],
        versions: dict[str, list[Assessment]],
        now: datetime,
    ) -> None:
        self.session, self.actor, self.patients, self.versions, self.now = session, actor, patients, versions, now
        self.stored_from_this_file: set[str] = set()

    def store(self, label: str, report: SelfReport) -> ImportResult:
        patient = self.patients.get(report.mrn)
        if patient is None:
            # The same answer for an unknown MRN and one outside the caseload: it reveals nothing.
            return _rejected(label, f"no patient with MRN {report.mrn} in your scope", report)
        patient_id, born = patient
        versions = self.versions.get(report.external_id, [])
        withdrawn = _current_version(versions)
        if withdrawn is not None and withdrawn.retracted_at is not None:
            if any(_same_report(stored, patient_id, report) for stored in versions):
                return ImportResult(
                    label,
                    DUPLICATE,
                    f"already imported ({report.external_id}) and withdrawn by the sender as entered in error on "
                    f"{withdrawn.retracted_at:%Y-%m-%d}; it stays out of trends",
                    report.mrn,
                    report.instrument,
                )
            return _rejected(
                label,
                f"the report with this identifier ({report.external_id}) was withdrawn as entered in error on "
                f"{withdrawn.retracted_at:%Y-%m-%d}; send a new report with a new identifier",
                report,
            )
        if any(_same_report(stored, patient_id, report) for stored in versions):
            return ImportResult(
                label, DUPLICATE, f"already imported ({report.external_id})", report.mrn, report.instrument
            )
        if report.administered_at.date() < born:
            return _rejected(label, "dated before the patient's birth date", report)
        if report.administered_at > self.now + timedelta(minutes=5):
            return _rejected(label, "dated in the future", report)
        try:
            score = clinical.score_instrument(report.instrument, report.answers)
        except ValueError as error:
            return _rejected(label, str(error), report)
        if report.stated_total is not None and report.stated_total != score.total:
            return _rejected(
                label, f"stated total {report.stated_total} differs from the item sum {score.total}", report
            )
        current = _current_version(versions)
        if current is not None:
            problem = self._why_not_a_correction(current, patient_id, report)
            if problem:
                return _rejected(label, problem, report)
        return self._add(label, report, score, patient_id, supersedes=current)

    def retract(self, label: str, retraction: Retraction) -> ImportResult:
        """Mark the stored report with this identifier retracted (its current version; the versions it superseded
        stay superseded), record it as an amendment, close the flags only it raised, and audit it."""
        patient = self.patients.get(retraction.mrn)
        versions = self.versions.get(retraction.external_id, [])
        current = _current_version(versions)
        if patient is None or current is None or current.patient_id != patient[0]:
            # One answer for an unknown identifier, an unknown MRN, one outside the caseload, or another patient's
            # report: it reveals nothing.
            return _rejected(
                label,
                f"no stored report with identifier {retraction.external_id} for MRN {retraction.mrn} in your "
                "scope: nothing to withdraw",
                retraction,
            )
        patient_id = patient[0]
        if retraction.instrument is not None and retraction.instrument != current.instrument:
            return _rejected(
                label,
                f"the report stored with this identifier ({retraction.external_id}) is a {current.instrument}, "
                f"not a {retraction.instrument}: nothing was withdrawn",
                retraction,
            )
        if current.retracted_at is not None:
            return ImportResult(
                label,
                DUPLICATE,
                f"already withdrawn as entered in error on {current.retracted_at:%Y-%m-%d} ({retraction.external_id})",
                retraction.mrn,
                current.instrument,
                current.total,
            )
        session, actor = self.session, self.actor
        current.retracted_at = self.now
        current.retracted_reason = retraction.reason
        current.retracted_by_id = actor.user_id if actor else None
        session.add(
            Amendment(
                patient_id=patient_id,
                target_table="assessments",
                target_id=current.id,
                field="status",
                old_value="current",
                new_value="entered-in-error",
                reason=f"Withdrawn by the sender ({retraction.external_id}): {retraction.reason}. "
                f"{current.instrument} total {current.total} of {current.administered_at:%Y-%m-%d} is kept but no "
                "longer counted in trends or outcomes",
                author_id=actor.user_id if actor else None,
            )
        )
        session.flush()
        withdrawn = withdraw_findings(
            session,
            actor,
            patient_id,
            source_table="assessments",
            source_ids={version.id for version in versions},
            # Every version of the patient's reports withdrawn before: their findings no longer hold a flag open.
            withdrawn_before=set(
                session.scalars(
                    select(Assessment.id).where(
                        Assessment.patient_id == patient_id,
                        Assessment.external_id.in_(
                            select(Assessment.external_id).where(
                                Assessment.patient_id == patient_id, Assessment.retracted_at.is_not(None)
                            )
                        ),
                    )
                )
            ),
            why=f"{current.instrument} of {current.administered_at:%Y-%m-%d}, assessment {current.id}, "
            f"withdrawn by the sender",
        )
        record_event(
            session,
            actor,
            "retract_self_report",
            patient_id=patient_id,
            data_category="assessment",
            record_type="assessment",
            record_id=current.id,
            detail=f"{current.instrument} total {current.total} ({retraction.external_id}) entered in error; "
            f"{len(withdrawn.closed)} flags closed, {len(withdrawn.kept_open)} kept open",
        )
        flags = [f"closed {flag.severity} {flag.kind}" for flag in withdrawn.closed] + [
            f"{flag.severity} {flag.kind} kept open (other findings)" for flag in withdrawn.kept_open
        ]
        return ImportResult(
            label,
            RETRACTED,
            f"{current.instrument} {current.total} of {current.administered_at:%Y-%m-%d} withdrawn as entered in "
            "error: kept, no longer counted in trends or outcomes",
            retraction.mrn,
            current.instrument,
            current.total,
            ", ".join(flags),
        )

    def _why_not_a_correction(self, current: Assessment, patient_id: int, report: SelfReport) -> str | None:
        if current.patient_id != patient_id:
            return f"a report with this identifier ({report.external_id}) is stored for another patient"
        if current.instrument != report.instrument:
            return f"the report stored with this identifier ({report.external_id}) is a {current.instrument}"
        if report.is_correction:
            return None
        if report.external_id in self.stored_from_this_file:
            return (
                f"another report in this file has the same identifier ({report.external_id}) and different "
                "answers; send a correction with status amended or corrected"
            )
        return (
            f"differs from the report already stored with this identifier ({report.external_id}); a correction "
            "must be sent with status amended or corrected"
        )

    def _add(
        self,
        label: str,
        report: SelfReport,
        score: clinical.InstrumentScore,
        patient_id: int,
        *,
        supersedes: Assessment | None,
    ) -> ImportResult:
        session, actor = self.session, self.actor
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
            supersedes_id=supersedes.id if supersedes else None,
        )
        try:
            with session.begin_nested():
                session.add(assessment)
                session.flush()
        except IntegrityError:
            if supersedes is None:  # another import stored the same report a moment ago
                return ImportResult(
                    label, DUPLICATE, f"already imported ({report.external_id})", report.mrn, report.instrument
                )
            return _rejected(label, "another correction of this report was stored a moment ago; import again", report)
        self.versions.setdefault(report.external_id, []).append(assessment)
        self.stored_from_this_file.add(report.external_id)
        # Compared with the current score before this report, however late it arrives. Read after the flush: a
        # superseded version is no longer current, so a correction is never compared with what it corrects.
        previous = previous_totals(session, patient_id, before=report.administered_at)
        raised = raise_flags(
            session,
            actor,
            patient_id,
            clinical.flags_for_score(score, previous.get(score.instrument)),
            source_table="assessments",
            source_id=assessment.id,
            raised_at=report.administered_at,
        )
        if supersedes is None:
            action, status = "import_self_report", IMPORTED
            detail = f"{score.instrument} {score.total} ({score.severity})"
        else:
            action, status = "amend_self_report", AMENDED
            detail = (
                f"{score.instrument} {score.total} ({score.severity}); corrects the version stored "
                f"{supersedes.created_at:%Y-%m-%d} (total {supersedes.total}), which is kept"
            )
            session.add(
                Amendment(
                    patient_id=patient_id,
                    target_table="assessments",
                    target_id=supersedes.id,
                    field="answers",
                    old_value=json.dumps(supersedes.answers),
                    new_value=json.dumps(report.answers),
                    reason=f"Corrected by the sender (FHIR status {report.status}, {report.external_id}): "
                    f"{score.instrument} total {supersedes.total} -> {score.total}; now assessment {assessment.id}",
                    author_id=actor.user_id if actor else None,
                )
            )
        record_event(
            session,
            actor,
            action,
            patient_id=patient_id,
            data_category="assessment",
            record_type="assessment",
            record_id=assessment.id,
            detail=f"{score.instrument} total {score.total} ({report.external_id})"
            + (f"; supersedes assessment {supersedes.id}" if supersedes else "")
            + f"; {len(raised)} flags",
        )
        return ImportResult(
            label,
            status,
            detail,
            report.mrn,
            score.instrument,
            score.total,
            ", ".join(
                f"{o.flag.severity} {o.flag.kind}" + ("" if o.is_new else " (added to the open flag)") for o in raised
            ),
        )


def _current_version(versions: list[Assessment]) -> Assessment | None:
    """The version no other version supersedes (None if there is none yet)."""
    superseded = {version.supersedes_id for version in versions}
    current = [version for version in versions if version.id not in superseded]
    return current[-1] if current else None


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


def _refuse_what_the_review_would_not_allow(
    session: Session,
    patient: Patient,
    inputs: list[MedicationInput],
    medications: list[tuple[str, str | None, float, bool]],
    prescriber: User | None,
    today: date,
) -> None:
    """Run the prescriber's safety review (the start-medication form's) on every medication being onboarded,
    against each other and the allergies on file; raise SafetyBlock with every reason if any needs more than
    a file can give: a blocked dose or prescription, or a prescriber's override or acknowledgement."""
    unlicensed = "No prescriber is assigned, so no one is"
    if prescriber is not None:
        unlicensed = f"The assigned prescriber ({prescriber.username}) is not"
    reviews = review_new_medications(
        session,
        patient,
        [
            ProposedMedication(
                drug=drug, daily_mg=daily_mg, indication=medication.indication, prescribed_here=psychiatric
            )
            for medication, (drug, _, daily_mg, psychiatric) in zip(inputs, medications, strict=True)
        ],
        licensed_states=(prescriber.licensed_states or ()) if prescriber else (),
        unlicensed_prescriber=unlicensed,
        event="start",
        today=today,
    )
    reasons: list[str] = []
    for medication, review in zip(inputs, reviews, strict=True):
        where = f"{medication.source} ({review.drug})"
        reasons += [f"{where}: {problem}" for problem in review.blocking]
        reasons += [f"{where}: {item} (needs a prescriber's documented override)" for item in review.needs_override]
        reasons += [f"{where}: {item} (needs a prescriber's acknowledgement)" for item in review.needs_acknowledgement]
        if review.needs_pdmp_attestation:
            reasons.append(f"{where}: {PDMP_NOT_ATTESTED} (a file cannot attest it)")
    if reasons:
        raise SafetyBlock(
            [
                *reasons,
                "Nothing was created. Onboard without these medications and have the prescriber start them "
                "from the chart, where overrides and acknowledgements are recorded.",
            ]
        )


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
    for medication in onboarding.medications:
        canonical = by_rxnorm.get(medication.rxnorm or "") or clinical.resolve_drug(medication.drug)
        try:
            daily_mg = clinical.daily_dose_mg(medication.dose, medication.unit, medication.frequency)
        except ValueError as error:
            errors[medication.source] = str(error)
            continue
        if daily_mg > MAX_DAILY_DOSE_SANITY_MG:
            errors[medication.source] = f"{daily_mg:g} mg/day is not a plausible dose (check the unit)"
            continue
        if canonical is None:
            if not medication.rxnorm or not medication.drug:
                errors[medication.source] = (
                    f"{medication.drug or 'medication'} is not in the formulary and has no RxNorm code"
                )
                continue
            medications.append((medication.drug, medication.rxnorm, daily_mg, False))
            continue
        medications.append((canonical, clinical.formulary_entry(canonical).rxnorm, daily_mg, True))
    if errors:
        raise InvalidInput(errors)
    with write_session(engine, actor=actor, capability="import_patients") as session:
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
        session.flush()  # the safety review reads the allergies on file
        _refuse_what_the_review_would_not_allow(
            session, patient, onboarding.medications, medications, prescriber, today
        )
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
        refresh_patient_summary(session, patient.id)
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
