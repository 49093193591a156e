"""Finding patients and reading one patient's chart header."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, or_, select

from db.audit import record_event
from db.engine import read_session, write_session
from db.models import Allergy, Diagnosis, Patient, User
from db.permissions import Actor, PermissionDenied, caseload_scope, patient_scope, require_patient


def age_on(date_of_birth: date, today: date) -> int:
    return today.year - date_of_birth.year - ((today.month, today.day) < (date_of_birth.month, date_of_birth.day))


@dataclass(frozen=True)
class PatientRef:
    id: int
    mrn: str
    display_name: str


def search_patients(actor: Actor, text: str = "", *, limit: int = 50, engine: Engine | None = None) -> list[PatientRef]:
    """Patients in the actor's caseload or team whose name or MRN contains ``text``."""
    pattern = f"%{text.strip().lower()}%"
    statement = (
        select(Patient.id, Patient.mrn, Patient.family_name, Patient.given_name)
        .where(caseload_scope(actor))
        .order_by(Patient.family_name, Patient.given_name)
        .limit(limit)
    )
    if text.strip():
        statement = statement.where(
            or_(Patient.mrn.ilike(pattern), Patient.family_name.ilike(pattern), Patient.given_name.ilike(pattern))
        )
    with read_session(engine) as session:
        rows = session.execute(statement).all()
    return [PatientRef(row.id, row.mrn, f"{row.family_name}, {row.given_name}") for row in rows]


def patient_id_for_mrn(actor: Actor, mrn: str, *, engine: Engine | None = None) -> int:
    """Resolve a deep link's MRN; a patient the actor may not see is refused exactly like a missing one."""
    with read_session(engine) as session:
        patient_id = session.scalar(select(Patient.id).where(Patient.mrn == mrn.strip()))
        if patient_id is None:
            raise PermissionDenied(
                "Not permitted: this patient is not in your caseload, or the action is not allowed for your role.",
                actor=actor,
                capability="view_chart",
                detail=f"deep link to unknown MRN {mrn[:20]!r}",
            )
        require_patient(session, actor, patient_id, "view_chart")
        return patient_id


def may_act_for(actor: Actor, patient_id: int, *, engine: Engine | None = None) -> bool:
    """False when the actor sees this chart only through a read-only emergency grant: the page then offers no
    form (the commands refuse such writes whatever the page shows)."""
    with read_session(engine) as session:
        return (
            session.scalar(
                select(Patient.id).where(Patient.id == patient_id, patient_scope(actor, capability="care_action"))
            )
            is not None
        )


@dataclass(frozen=True)
class ChartHeader:
    patient_id: int
    mrn: str
    display_name: str
    date_of_birth: date
    sex: str
    state_of_residence: str
    program_phase: str
    program_start_date: date
    diagnoses: list[tuple[str, str, bool]]
    allergies: list[tuple[str, str | None]]
    emergency_contact: str | None
    crisis_plan: str | None
    telehealth_consent_date: date | None
    prescriber_name: str | None
    nurse_name: str | None
    preferred_pharmacy: str | None
    primary_care_clinician: str | None
    next_visit_due: date | None
    version: int
    pregnancy_status: str | None = None
    lactating: bool | None = None
    benign_ethnic_neutropenia: bool | None = None
    crcl_ml_min: float | None = None
    hepatic_impairment: str | None = None

    def clinical_status(self) -> str:
        """The facts the safety review uses, in one line; unknown ones are said to be unknown."""
        parts = []
        if self.sex != "male":
            parts.append(f"pregnancy: {(self.pregnancy_status or 'not recorded').replace('_', ' ')}")
            parts.append(f"lactating: {_yes_no(self.lactating)}")
        parts.append(f"CrCl: {f'{self.crcl_ml_min:g} mL/min' if self.crcl_ml_min is not None else 'not recorded'}")
        parts.append(f"hepatic impairment: {self.hepatic_impairment or 'not recorded'}")
        if self.benign_ethnic_neutropenia:
            parts.append("benign ethnic neutropenia")
        return " · ".join(parts)


def _yes_no(value: bool | None) -> str:
    return "not recorded" if value is None else ("yes" if value else "no")


def open_chart(actor: Actor, patient_id: int, *, engine: Engine | None = None) -> ChartHeader:
    """Read a chart's header; the access (or its refusal) is written to the audit log."""
    with write_session(engine) as session:
        # Reading the header and auditing the view change nothing a concurrent write on this patient checks,
        # so the view does not wait for such a write (nor take PostgreSQL's per-patient write lock).
        patient = require_patient(session, actor, patient_id, "view_chart", serialize=False)
        # Two plain reads (a refresh of the relationships added a third statement re-reading the patient's id).
        diagnoses = session.execute(
            select(Diagnosis.icd10_code, Diagnosis.description, Diagnosis.is_primary)
            .where(Diagnosis.patient_id == patient.id)
            .order_by(Diagnosis.id)
        ).all()
        allergies = session.execute(
            select(Allergy.substance, Allergy.reaction).where(Allergy.patient_id == patient.id).order_by(Allergy.id)
        ).all()
        names = dict(
            session.execute(
                select(User.id, User.full_name).where(User.id.in_([patient.prescriber_id or 0, patient.nurse_id or 0]))
            ).all()
        )
        record_event(
            session,
            actor,
            "view_chart",
            patient_id=patient.id,
            data_category="chart",
            record_type="patient",
            record_id=patient.id,
        )
        contact = " · ".join(part for part in (patient.emergency_contact_name, patient.emergency_contact_phone) if part)
        return ChartHeader(
            patient_id=patient.id,
            mrn=patient.mrn,
            display_name=patient.display_name,
            date_of_birth=patient.date_of_birth,
            sex=patient.sex,
            state_of_residence=patient.state_of_residence,
            program_phase=patient.program_phase,
            program_start_date=patient.program_start_date,
            diagnoses=[(code, description, is_primary) for code, description, is_primary in diagnoses],
            allergies=[(substance, reaction) for substance, reaction in allergies],
            emergency_contact=contact or None,
            crisis_plan=patient.crisis_plan,
            telehealth_consent_date=patient.telehealth_consent_date,
            prescriber_name=names.get(patient.prescriber_id or -1),
            nurse_name=names.get(patient.nurse_id or -1),
            preferred_pharmacy=patient.preferred_pharmacy,
            primary_care_clinician=patient.primary_care_clinician,
            next_visit_due=patient.next_visit_due,
            version=patient.version,
            pregnancy_status=patient.pregnancy_status,
            lactating=patient.lactating,
            benign_ethnic_neutropenia=patient.benign_ethnic_neutropenia,
            crcl_ml_min=patient.crcl_ml_min,
            hepatic_impairment=patient.hepatic_impairment,
        )


__all__ = ["ChartHeader", "PatientRef", "age_on", "open_chart", "patient_id_for_mrn", "search_patients"]
