"""Typed ORM models (SQLAlchemy 2). The schema itself is created by Alembic migrations, never create_all.

Conventions: every timestamp is naive UTC (``db.engine.utcnow``); history tables (dose changes, flag
events, lab results, amendments, audit) are append-only; rows that two users may edit at once carry a
``version`` column that SQLAlchemy checks on UPDATE, so a concurrent edit is detected, never overwritten.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    exists,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, aliased, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from db.engine import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("prescriber", "nurse", "supervisor", "admin")
PROGRAM_PHASES = ("intake", "intensive", "step-down", "maintenance", "discharged")
SEXES = ("female", "male", "other", "unknown")
VISIT_MODALITIES = ("video", "phone", "in-person")
ASSESSMENT_SOURCES = ("visit", "self-report")
PRESCRIPTION_STATUSES = ("active", "stopped")
LAB_ORDER_STATUSES = ("pending", "resulted", "cancelled")
REFILL_STATUSES = ("pending", "on_hold", "approved", "denied")
FLAG_STATES = ("open", "acknowledged", "escalated", "resolved")
SIDE_EFFECT_SEVERITIES = ("mild", "moderate", "severe")
PREGNANCY_STATUSES = ("pregnant", "not_pregnant", "unknown")
HEPATIC_IMPAIRMENT = ("none", "mild", "moderate", "severe")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    credentials: Mapped[str | None] = mapped_column(String(40))  # "MD", "PMHNP-BC", "RN" ...
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    may_break_glass: Mapped[bool] = mapped_column(Boolean, default=False)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    licensed_states: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    # Set for a new account and an admin-set password: only the user's own password opens charts (0007).
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # An account an admin created, or gave a password or authenticator reset, waits for a second person's approval.
    pending_approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    pending_reason: Mapped[str | None] = mapped_column(String(40))  # "new account" / "password reset"
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    approved_by_id: Mapped[int | None] = mapped_column(Integer)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    # TOTP (RFC 6238): the base32 secret, never shown again after enrolment; the last accepted time step.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(DateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=1)

    team: Mapped[Team | None] = relationship()

    __mapper_args__ = {"version_id_col": version}


class AuthSession(Base):
    """A server-side login session; the browser's cookie only points at it, so it can be revoked."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    # The expiry stamped into the browser's login cookie; it ties a returning cookie to this session.
    cookie_exp: Mapped[float | None] = mapped_column(Float, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(80))


class RecoveryCode(Base):
    """A one-time MFA recovery code: only a salted SHA-256 hash is kept; ``used_at`` spends it."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class LoginChallenge(Base):
    """The second login step (TOTP or recovery code) after a correct password, kept server-side."""

    __tablename__ = "login_challenges"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)


class LoginAttempt(Base):
    """Every login attempt, so lockout holds across restarts and across app servers."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    attempted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    # Where the attempt came from (components.auth.client_address): the socket's peer, or the address a
    # trusted proxy put in X-Forwarded-For; "operator unlock" for db.unlock_login. Throttling counts by it.
    client_address: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_login_attempts_username_time", "username", "attempted_at"),
        Index("ix_login_attempts_address_time", "client_address", "attempted_at"),
    )


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    mrn: Mapped[str] = mapped_column(String(20), unique=True)
    given_name: Mapped[str] = mapped_column(String(80))
    family_name: Mapped[str] = mapped_column(String(80))
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(10))
    state_of_residence: Mapped[str] = mapped_column(String(2))
    ancestry: Mapped[str | None] = mapped_column(String(40))  # only where a monitoring rule needs it (HLA-B*1502)
    # OMB race / ethnicity code (CDC Race & Ethnicity, clinical/data/demographics.json) or a null flavour
    # (ASKU declined, UNK unknown); None = never asked. Synthetic in the demo data.
    race: Mapped[str | None] = mapped_column(String(12))
    ethnicity: Mapped[str | None] = mapped_column(String(12))
    phone: Mapped[str | None] = mapped_column(String(40))
    program_phase: Mapped[str] = mapped_column(String(20))
    program_start_date: Mapped[date] = mapped_column(Date)
    discharge_date: Mapped[date | None] = mapped_column(Date)
    prescriber_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    nurse_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    emergency_contact_name: Mapped[str | None] = mapped_column(String(120))
    emergency_contact_phone: Mapped[str | None] = mapped_column(String(40))
    crisis_plan: Mapped[str | None] = mapped_column(Text)
    telehealth_consent_date: Mapped[date | None] = mapped_column(Date)
    preferred_pharmacy: Mapped[str | None] = mapped_column(String(200))
    primary_care_clinician: Mapped[str | None] = mapped_column(String(200))
    next_visit_due: Mapped[date | None] = mapped_column(Date)
    # Inputs of the safety review; NULL means not known, and the rules then err on the safe side.
    pregnancy_status: Mapped[str | None] = mapped_column(String(12))  # see PREGNANCY_STATUSES
    lactating: Mapped[bool | None] = mapped_column(Boolean)
    benign_ethnic_neutropenia: Mapped[bool | None] = mapped_column(Boolean)
    crcl_ml_min: Mapped[float | None] = mapped_column(Float)
    hepatic_impairment: Mapped[str | None] = mapped_column(String(10))  # see HEPATIC_IMPAIRMENT
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    prescriber: Mapped[User | None] = relationship(foreign_keys=[prescriber_id])
    nurse: Mapped[User | None] = relationship(foreign_keys=[nurse_id])
    allergies: Mapped[list[Allergy]] = relationship(back_populates="patient", order_by="Allergy.id")
    diagnoses: Mapped[list[Diagnosis]] = relationship(back_populates="patient", order_by="Diagnosis.id")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_patients_prescriber_phase", "prescriber_id", "program_phase"),
        Index("ix_patients_team_phase", "team_id", "program_phase"),
        Index("ix_patients_nurse", "nurse_id"),
        Index("ix_patients_family_name", "family_name"),
    )

    @property
    def display_name(self) -> str:
        return f"{self.family_name}, {self.given_name}"


class Allergy(Base):
    __tablename__ = "allergies"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    substance: Mapped[str] = mapped_column(String(120))
    reaction: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str | None] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="allergies")


class Diagnosis(Base):
    __tablename__ = "diagnoses"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    icd10_code: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(String(200))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="diagnoses")


class Prescription(Base):
    """One medication course for a patient. The dose fields hold the current dose; every change is a DoseChange."""

    __tablename__ = "prescriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    drug: Mapped[str] = mapped_column(String(80))
    rxnorm: Mapped[str | None] = mapped_column(String(20))
    dose: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(10))
    frequency: Mapped[str] = mapped_column(String(40))
    route: Mapped[str] = mapped_column(String(20), default="oral")
    daily_dose_mg: Mapped[float] = mapped_column(Float)
    formulation: Mapped[str | None] = mapped_column(String(40))
    indication: Mapped[str | None] = mapped_column(String(120))
    quantity: Mapped[int | None] = mapped_column(Integer)
    days_supply: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="active")
    is_psychiatric: Mapped[bool] = mapped_column(Boolean, default=True)  # False: prescribed outside the program
    source: Mapped[str | None] = mapped_column(String(120))  # who prescribes an outside medication
    start_date: Mapped[date] = mapped_column(Date)
    stop_date: Mapped[date | None] = mapped_column(Date)
    stop_reason: Mapped[str | None] = mapped_column(String(200))
    prescriber_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_fill_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_prescriptions_patient_status", "patient_id", "status"),)


class DoseChange(Base):
    """Append-only dose history: a start, each adjustment and the stop of a prescription."""

    __tablename__ = "dose_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    change_type: Mapped[str] = mapped_column(String(20))  # start, increase, decrease, change, stop
    drug: Mapped[str] = mapped_column(String(80))
    old_dose: Mapped[float | None] = mapped_column(Float)
    new_dose: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(10))
    old_frequency: Mapped[str | None] = mapped_column(String(40))
    new_frequency: Mapped[str | None] = mapped_column(String(40))
    old_daily_mg: Mapped[float | None] = mapped_column(Float)
    new_daily_mg: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    override_reason: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        Index("ix_dose_changes_patient_time", "patient_id", "changed_at"),
        Index("ix_dose_changes_prescription", "prescription_id"),
    )


class PrescriptionFill(Base):
    __tablename__ = "prescription_fills"

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    refill_request_id: Mapped[int | None] = mapped_column(ForeignKey("refill_requests.id"))
    filled_on: Mapped[date] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)
    days_supply: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Visit(Base):
    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    visit_type: Mapped[str] = mapped_column(String(20), default="follow-up")  # intake, follow-up
    visit_at: Mapped[datetime] = mapped_column(DateTime)
    modality: Mapped[str] = mapped_column(String(10))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    missed_doses: Mapped[int | None] = mapped_column(Integer)
    weight_kg: Mapped[float | None] = mapped_column(Float)
    bp_systolic: Mapped[int | None] = mapped_column(Integer)
    bp_diastolic: Mapped[int | None] = mapped_column(Integer)
    height_cm: Mapped[float | None] = mapped_column(Float)
    waist_cm: Mapped[float | None] = mapped_column(Float)
    heart_rate: Mapped[int | None] = mapped_column(Integer)
    assessment_note: Mapped[str | None] = mapped_column(Text)
    plan_note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # intake history, reconciliation, plan
    next_visit_due: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_visits_patient_time", "patient_id", "visit_at"),)


class Assessment(Base):
    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    instrument: Mapped[str] = mapped_column(String(20))
    answers: Mapped[Any] = mapped_column(JSON)
    total: Mapped[int | None] = mapped_column(Integer)
    severity: Mapped[str | None] = mapped_column(String(30))
    administered_at: Mapped[datetime] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(String(12))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    external_id: Mapped[str | None] = mapped_column(String(200))  # the sender's id of an imported self-report
    # A correction sent later (FHIR status amended/corrected) is a new row naming the version it replaces; the
    # replaced row is never changed. Unique: a version is superseded at most once, so two concurrent
    # corrections of the same report cannot both be stored.
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"), unique=True)
    # A report its sender marked entered-in-error (0013): kept and marked on its current version, so it leaves
    # trends and outcomes while its history and audit trail stay. Set once (an UPDATE ... WHERE retracted_at IS NULL).
    retracted_at: Mapped[datetime | None] = mapped_column(DateTime)
    retracted_reason: Mapped[str | None] = mapped_column(Text)
    retracted_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        Index("ix_assessments_patient_instrument_time", "patient_id", "instrument", "administered_at"),
        # Dedupes imported self-reports: one first version per sender identifier (its corrections share it).
        Index(
            "uq_assessments_external_id_first_version",
            "external_id",
            unique=True,
            sqlite_where=text("supersedes_id IS NULL"),
            postgresql_where=text("supersedes_id IS NULL"),
        ),
    )


def current_assessment(entity: Any = Assessment) -> ColumnElement[bool]:
    """True for the current version of a score: no correction supersedes it and it was not retracted (entered in
    error). What trends, the chart, outcomes, the caseload, the overview and the export read. ``entity`` is
    ``Assessment`` or an alias of it. Retraction marks the current version, so the versions it superseded stay
    excluded by the first condition."""
    return ~exists().where(_NEWER_ASSESSMENT.supersedes_id == entity.id) & entity.retracted_at.is_(None)


# One alias for every use: building an alias of the mapped class costs milliseconds of CPU, and each EXISTS
# above is its own subquery, so sharing the alias between conditions (and statements) changes no SQL.
_NEWER_ASSESSMENT = aliased(Assessment)


class SideEffectReport(Base):
    __tablename__ = "side_effect_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    prescription_id: Mapped[int | None] = mapped_column(ForeignKey("prescriptions.id"))
    drug: Mapped[str] = mapped_column(String(80))
    symptom: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(10))
    reported_at: Mapped[datetime] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(String(12), default="visit")
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_side_effect_reports_patient_time", "patient_id", "reported_at"),)


class LabOrder(Base):
    __tablename__ = "lab_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    test: Mapped[str] = mapped_column(String(80))
    loinc: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(300))
    drug: Mapped[str | None] = mapped_column(String(80))
    prescription_id: Mapped[int | None] = mapped_column(ForeignKey("prescriptions.id"))
    ordered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    due_by: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    ordered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_lab_orders_patient_status", "patient_id", "status"),
        Index("ix_lab_orders_status_due", "status", "due_by"),
    )


class LabResult(Base):
    """A lab result; a correction is a new row that amends the earlier one, which stays visible."""

    __tablename__ = "lab_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_order_id: Mapped[int | None] = mapped_column(ForeignKey("lab_orders.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    test: Mapped[str] = mapped_column(String(80))
    loinc: Mapped[str | None] = mapped_column(String(20))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20))
    ref_low: Mapped[float | None] = mapped_column(Float)
    ref_high: Mapped[float | None] = mapped_column(Float)
    interpretation: Mapped[str] = mapped_column(String(20))  # normal, low, high, critical low, critical high
    is_abnormal: Mapped[bool] = mapped_column(Boolean)
    is_critical: Mapped[bool] = mapped_column(Boolean, default=False)
    collected_on: Mapped[date] = mapped_column(Date)
    entered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (Index("ix_lab_results_patient_test_time", "patient_id", "test", "collected_on"),)


class RefillRequest(Base):
    __tablename__ = "refill_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(String(20))  # patient, pharmacy
    quantity: Mapped[int] = mapped_column(Integer)
    days_supply: Mapped[int] = mapped_column(Integer)
    is_early: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    decision_reason: Mapped[str | None] = mapped_column(Text)
    approved_quantity: Mapped[int | None] = mapped_column(Integer)
    pdmp_checked: Mapped[bool | None] = mapped_column(Boolean)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_refill_requests_status_patient", "status", "patient_id"),
        Index("ix_refill_requests_patient", "patient_id"),
        Index("ix_refill_requests_decided_at", "decided_at"),
    )


class Flag(Base):
    """A finding a nurse must triage. At most one open (unresolved) flag exists per patient and cause."""

    __tablename__ = "flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    kind: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))
    severity_rank: Mapped[int] = mapped_column(Integer)  # 0 urgent .. 3 low, so SQL can sort by urgency
    cause: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    source_table: Mapped[str | None] = mapped_column(String(40))
    source_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default="open")
    is_open: Mapped[bool | None] = mapped_column(Boolean, default=True)  # NULL once resolved: see the unique index
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    raised_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # A new finding for the same cause is recorded on the open flag: the response target counts from it.
    last_finding_at: Mapped[datetime | None] = mapped_column(DateTime)
    finding_count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # is_open is TRUE while unresolved and NULL after, so this unique constraint allows any number of
        # resolved flags but only one unresolved flag per cause, on SQLite and PostgreSQL alike.
        UniqueConstraint("patient_id", "cause", "is_open", name="uq_flags_one_open_per_cause"),
        Index("ix_flags_state_rank_raised", "state", "severity_rank", "raised_at"),
        Index("ix_flags_patient_state", "patient_id", "state"),
    )


class FlagEvent(Base):
    """Append-only history of what happened to a flag (raised, owned, acknowledged, escalated, resolved)."""

    __tablename__ = "flag_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    source_table: Mapped[str | None] = mapped_column(String(40))  # the record a new finding came from
    source_id: Mapped[int | None] = mapped_column(Integer)


class FormSubmission(Base):
    """A form submission's token, claimed in the same transaction as its write: one submission, one write."""

    __tablename__ = "form_submissions"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    record_type: Mapped[str | None] = mapped_column(String(40))
    record_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(Text)  # what the user was told, repeated to a second click


class BreakGlassGrant(Base):
    """Emergency access to one chart outside the user's caseload, for a limited time, with a stated reason."""

    __tablename__ = "break_glass_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    # The reason category (db.commands.access.EMERGENCY_REASONS) and whether it allows care actions (writes);
    # NULL on grants from before categories existed, which count as read-only.
    category: Mapped[str | None] = mapped_column(String(40))
    allows_care: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (Index("ix_break_glass_grants_user_expires", "user_id", "expires_at"),)


class Amendment(Base):
    """A correction appended to a recorded score, note or lab result; the original row is never changed."""

    __tablename__ = "amendments"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    target_table: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    amended_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_amendments_target", "target_table", "target_id"),)


class PatientCheckinLink(Base):
    """A one-time link a patient opens without an account to answer the measures due between visits.

    Only the SHA-256 of the link's random token is stored, so the database (and its backups) cannot reopen a
    link. ``used_at`` spends it: the submit sets it in the same transaction that stores the answers, and only
    while it is still NULL, so of two submits exactly one writes."""

    __tablename__ = "patient_checkin_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    measures: Mapped[list[Any]] = mapped_column(JSON)  # see db.commands.checkin.CHECKIN_MEASURES
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime)  # first opened
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    missed_doses: Mapped[int | None] = mapped_column(Integer)  # the patient's answer (doses missed in the past week)

    __table_args__ = (Index("ix_patient_checkin_links_patient_created", "patient_id", "created_at"),)


class AuditEvent(Base):
    """Append-only audit log. Each row carries its own hash (bound to its id) and a keyed MAC of it, written in the
    write's own transaction without a global lock; the sealer (db.audit_seal) then links committed rows into the
    hash chain in id order (AuditSeal). Rows from before migration 0013 chain in the row itself (``prev_hash``)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    data_category: Mapped[str | None] = mapped_column(String(40))
    record_type: Mapped[str | None] = mapped_column(String(40))
    record_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(20))  # success, denied, failure
    detail: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))
    # "<key id>:<HMAC-SHA256 of row_hash>" under a key kept outside the database (db.audit_keys); NULL only on
    # rows written before the key existed (migration 0008), which must all come before the first keyed row.
    row_mac: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_patient_at", "patient_id", "at"),
        Index("ix_audit_events_user_at", "user_id", "at"),
    )


class PatientSummary(Base):
    """Derived, one row per patient: what the program overview and caseload read instead of every patient's history.

    Written only by ``db.summary.refresh_patient_summary``, which each write command calls in its own transaction,
    and by ``db.summary.rebuild_summaries`` (``python -m db.rebuild_summaries``), which recomputes every row from
    history. Holds facts, never time-relative figures ("overdue" is computed against today at read time).
    """

    __tablename__ = "patient_summaries"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    prescriber_id: Mapped[int | None] = mapped_column(Integer)
    nurse_id: Mapped[int | None] = mapped_column(Integer)
    program_phase: Mapped[str] = mapped_column(String(20))
    program_start_date: Mapped[date] = mapped_column(Date)
    last_visit_at: Mapped[datetime | None] = mapped_column(DateTime)
    next_visit_due: Mapped[date | None] = mapped_column(Date)
    # The newest current PHQ-9 (as in patient_measure_summaries), here so the overview reads one table.
    last_phq9_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Unresolved flags (open, acknowledged or escalated), in total and per severity.
    open_flags: Mapped[int] = mapped_column(Integer, default=0)
    urgent_flags: Mapped[int] = mapped_column(Integer, default=0)
    high_flags: Mapped[int] = mapped_column(Integer, default=0)
    moderate_flags: Mapped[int] = mapped_column(Integer, default=0)
    low_flags: Mapped[int] = mapped_column(Integer, default=0)
    pending_refills: Mapped[int] = mapped_column(Integer, default=0)  # pending or on hold
    refills_decided: Mapped[int] = mapped_column(Integer, default=0)
    refill_turnaround_hours: Mapped[float] = mapped_column(Float, default=0.0)  # summed over decided refills
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        Index("ix_patient_summaries_prescriber_nurse", "prescriber_id", "nurse_id"),
        Index("ix_patient_summaries_nurse", "nurse_id"),
    )


class PatientMeasureSummary(Base):
    """Derived, per patient and outcome instrument (PHQ-9, GAD-7): first and latest current score and the outcome
    the rules engine gives for them. Maintained with ``PatientSummary``."""

    __tablename__ = "patient_measure_summaries"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    measure: Mapped[str] = mapped_column(String(20), primary_key=True)
    baseline_total: Mapped[int | None] = mapped_column(Integer)
    baseline_at: Mapped[datetime | None] = mapped_column(DateTime)
    latest_total: Mapped[int | None] = mapped_column(Integer)
    latest_at: Mapped[datetime | None] = mapped_column(DateTime)
    latest_severity: Mapped[str | None] = mapped_column(String(30))
    previous_total: Mapped[int | None] = mapped_column(Integer)  # the score before the latest (caseload's change)
    # The newest current administration, scored or not ("PHQ-9 in the last 30 days").
    last_administered_at: Mapped[datetime | None] = mapped_column(DateTime)
    percent_reduction: Mapped[float | None] = mapped_column(Float)
    response: Mapped[bool | None] = mapped_column(Boolean)
    remission: Mapped[bool | None] = mapped_column(Boolean)


class ProgramSnapshot(Base):
    """Derived: the supervisor overview's figures for its default view (every active phase, admitted in the last
    year), computed from the per-patient summaries by each app server's background refresher
    (``db.program_snapshot``) and read by the overview in one statement, so its cost does not grow with the
    program. One row per scope, replaced by each refresh; ``payload`` holds user ids, never names or patients."""

    __tablename__ = "program_snapshots"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    program_today: Mapped[date] = mapped_column(Date)  # the day the time-relative figures were counted against
    computed_at: Mapped[datetime] = mapped_column(DateTime)
    compute_ms: Mapped[float] = mapped_column(Float)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class AuditSeal(Base):
    """One audit event linked into the hash chain by the sealer, in id order; append-only like the log itself.

    ``seal_hash`` covers the previous seal's hash and this event's id and row hash, and ``seal_mac`` is its HMAC
    under the audit key: removing, reordering or inserting an event below the sealed head breaks a link that
    cannot be recomputed without the key.
    """

    __tablename__ = "audit_seals"

    audit_event_id: Mapped[int] = mapped_column(ForeignKey("audit_events.id"), primary_key=True, autoincrement=False)
    prev_seal_hash: Mapped[str | None] = mapped_column(String(64))
    seal_hash: Mapped[str] = mapped_column(String(64))
    seal_mac: Mapped[str] = mapped_column(String(80))
    sealed_at: Mapped[datetime] = mapped_column(DateTime)


__all__ = [
    "ROLES",
    "Amendment",
    "AuditEvent",
    "AuditSeal",
    "AuthSession",
    "Base",
    "BreakGlassGrant",
    "Diagnosis",
    "DoseChange",
    "Flag",
    "FlagEvent",
    "FormSubmission",
    "LabOrder",
    "LabResult",
    "LoginAttempt",
    "Patient",
    "PatientCheckinLink",
    "PatientMeasureSummary",
    "PatientSummary",
    "Prescription",
    "PrescriptionFill",
    "RefillRequest",
    "SideEffectReport",
    "Team",
    "User",
    "Visit",
    "current_assessment",
]
