"""FHIR R4 export reads: one patient's Bundle, or the whole program as resources for bulk NDJSON.

Both read a batch of patients with one statement per table (never one query per patient), then build the
resources with ``db.fhir.resources``. Access: ``export_chart`` on the patient (a Bundle), or the actor's own
caseload or team for a bulk export (emergency grants are for one chart, not for bulk); ``None`` as the actor
is the system (a command-line operator on the server), which exports the whole program.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select, true
from sqlalchemy.orm import Session

from db.engine import read_session, utcnow
from db.fhir import resources as fhir
from db.models import (
    Allergy,
    Assessment,
    Diagnosis,
    DoseChange,
    LabOrder,
    LabResult,
    Patient,
    Prescription,
    User,
    Visit,
    current_assessment,
)
from db.permissions import Actor, caseload_scope, require, require_patient

# The resource types of a bulk export, in file order (one NDJSON file each).
BULK_RESOURCE_TYPES = (
    "Patient",
    "Practitioner",
    "Condition",
    "AllergyIntolerance",
    "MedicationRequest",
    "Observation",
    "ServiceRequest",
    "Encounter",
    "Provenance",
)
DEFAULT_BATCH_SIZE = 250


@dataclass
class _Rows:
    """Rows of a batch of patients, grouped by patient id."""

    diagnoses: dict[int, list[Diagnosis]] = field(default_factory=lambda: defaultdict(list))
    allergies: dict[int, list[Allergy]] = field(default_factory=lambda: defaultdict(list))
    prescriptions: dict[int, list[Prescription]] = field(default_factory=lambda: defaultdict(list))
    dose_changes: dict[int, list[DoseChange]] = field(default_factory=lambda: defaultdict(list))  # by prescription
    assessments: dict[int, list[Assessment]] = field(default_factory=lambda: defaultdict(list))
    lab_results: dict[int, list[LabResult]] = field(default_factory=lambda: defaultdict(list))
    pending_orders: dict[int, list[LabOrder]] = field(default_factory=lambda: defaultdict(list))
    visits: dict[int, list[Visit]] = field(default_factory=lambda: defaultdict(list))
    users: dict[int, User] = field(default_factory=dict)  # every clinician the batch's rows name


def _load(session: Session, patients: list[Patient]) -> _Rows:
    """Nine statements for any number of patients."""
    patient_ids = [patient.id for patient in patients]
    rows = _Rows()
    for model, target, order in (
        (Diagnosis, rows.diagnoses, Diagnosis.id),
        (Allergy, rows.allergies, Allergy.id),
        (Prescription, rows.prescriptions, Prescription.id),
        (LabResult, rows.lab_results, LabResult.id),
        (Visit, rows.visits, Visit.visit_at),
    ):
        for row in session.scalars(select(model).where(model.patient_id.in_(patient_ids)).order_by(order)):
            target[row.patient_id].append(row)
    for change in session.scalars(
        select(DoseChange)
        .where(DoseChange.patient_id.in_(patient_ids))
        .order_by(DoseChange.changed_at, DoseChange.id)
    ):
        rows.dose_changes[change.prescription_id].append(change)
    for assessment in session.scalars(
        select(Assessment)
        .where(
            Assessment.patient_id.in_(patient_ids),
            Assessment.instrument.in_(fhir.EXPORTED_INSTRUMENTS),
            current_assessment(),  # a corrected self-report is exported once, as its correction
        )
        .order_by(Assessment.administered_at, Assessment.id)
    ):
        rows.assessments[assessment.patient_id].append(assessment)
    for order in session.scalars(
        select(LabOrder).where(LabOrder.patient_id.in_(patient_ids), LabOrder.status == "pending").order_by(LabOrder.id)
    ):
        rows.pending_orders[order.patient_id].append(order)
    user_ids = {patient.prescriber_id for patient in patients}
    user_ids |= {p.prescriber_id for group in rows.prescriptions.values() for p in group}
    user_ids |= {c.author_id for group in rows.dose_changes.values() for c in group}
    user_ids |= {v.clinician_id for group in rows.visits.values() for v in group}
    user_ids |= {o.ordered_by_id for group in rows.pending_orders.values() for o in group}
    user_ids.discard(None)
    if user_ids:
        rows.users = {user.id: user for user in session.scalars(select(User).where(User.id.in_(user_ids)))}
    return rows


def _patient_resources(
    patient: Patient, rows: _Rows, ref: fhir.Ref, practitioners_written: set[int]
) -> list[fhir.Resource]:
    """Every resource of one patient, Patient first, then the Practitioners they refer to that are not in
    ``practitioners_written`` yet (a bulk export writes each clinician once; the set is updated)."""
    out: list[fhir.Resource] = [fhir.patient_resource(patient, ref)]
    # The primary diagnosis first: onboarding takes the first Condition as primary (no extension needed).
    diagnoses = sorted(rows.diagnoses[patient.id], key=lambda row: (not row.is_primary, row.id))
    out += [fhir.condition_resource(row, ref) for row in diagnoses]
    out += [fhir.allergy_resource(row, ref) for row in rows.allergies[patient.id]]
    visit_on = {visit.visit_at.date(): visit.id for visit in rows.visits[patient.id]}
    for prescription in rows.prescriptions[patient.id]:
        if prescription.is_psychiatric:
            out += fhir.medication_requests(
                prescription, rows.dose_changes[prescription.id], ref,
                fallback_requester=patient.prescriber_id, visit_on=visit_on,
            )
        else:
            out.append(fhir.outside_medication_request(prescription, ref))
    for row in rows.assessments[patient.id]:
        out += fhir.score_observations(row, ref)
        if row.source == "self-report":
            out.append(fhir.self_report_provenance(row, ref))
    out += [fhir.lab_observation(row, ref) for row in rows.lab_results[patient.id]]
    out += fhir.vital_sign_observations(rows.visits[patient.id], ref)
    out += [fhir.service_request(row, ref) for row in rows.pending_orders[patient.id]]
    out += [fhir.encounter_resource(row, ref) for row in rows.visits[patient.id]]
    by_reference = {ref("Practitioner", user_id): user for user_id, user in rows.users.items()}
    named = {by_reference[value].id for value in fhir.practitioner_references(out) if value in by_reference}
    for user_id in sorted(named - practitioners_written):
        out.insert(1, fhir.practitioner_resource(rows.users[user_id], ref))
        practitioners_written.add(user_id)
    return out


def patient_bundle(actor: Actor, patient_id: int, *, engine: Engine | None = None) -> dict[str, Any]:
    """One patient's chart as a FHIR R4 ``collection`` Bundle (the caller audits the disclosure)."""
    with read_session(engine) as session:
        patient = require_patient(session, actor, patient_id, "export_chart")
        resources = _patient_resources(patient, _load(session, [patient]), fhir.bundle_reference, set())
    return fhir.collection_bundle(resources, bundle_id=f"chart-{patient.id}", timestamp=utcnow())


def program_resources(
    actor: Actor | None, *, batch_size: int = DEFAULT_BATCH_SIZE, engine: Engine | None = None
) -> Iterator[tuple[int, list[fhir.Resource]]]:
    """Yield (patient id, that patient's resources) for every patient in scope, reading a batch of patients
    at a time: ten statements per batch whatever the batch's size. Each clinician the export names is
    written once, with the first patient that names them. Every batch is read in one transaction that sees
    one snapshot of the database (SQLite: a read transaction in WAL mode; PostgreSQL: REPEATABLE READ), so a
    visit saved during a long export is either wholly in it or wholly out: what the bulk manifest's
    ``transactionTime`` promises."""
    if actor is not None:
        with read_session(engine):  # a refusal raised inside a session is audited
            require(actor, "export_chart")
    scope = caseload_scope(actor) if actor is not None else true()
    last_id = 0
    practitioners_written: set[int] = set()
    with read_session(engine) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        while True:
            patients = session.scalars(
                select(Patient).where(scope, Patient.id > last_id).order_by(Patient.id).limit(batch_size)
            ).all()
            if not patients:
                return
            rows = _load(session, list(patients))
            batch = [
                (patient.id, _patient_resources(patient, rows, fhir.relative_reference, practitioners_written))
                for patient in patients
            ]
            session.expunge_all()  # keep memory flat over a long export: the batch's rows are no longer needed
            yield from batch
            last_id = patients[-1].id
