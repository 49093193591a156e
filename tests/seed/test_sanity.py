"""The seeded program hangs together: assignments, dose history, maxima, storylines, logins, timestamps."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, time, timedelta
from typing import Any

import bcrypt
from sqlalchemy import Engine, func, select

import clinical
from db.models import (
    Assessment,
    DoseChange,
    Flag,
    FlagEvent,
    LabOrder,
    LabResult,
    Patient,
    Prescription,
    PrescriptionFill,
    RefillRequest,
    User,
    Visit,
)
from db.settings import get_settings
from seed import DEMO_PASSWORD, demo_logins
from tests.seed.conftest import SEED_TODAY, SeededProgram

PHONE = re.compile(r"^\(\d{3}\) 555-01\d{2}$")
MRN = re.compile(r"^IOP-\d{6}$")


def _rows(engine: Engine, *columns: Any, where: Any = None) -> list[Any]:
    statement = select(*columns)
    if where is not None:
        statement = statement.where(where)
    with engine.connect() as connection:
        return list(connection.execute(statement))


def _age(birth: Any) -> int:
    return SEED_TODAY.year - birth.year - ((SEED_TODAY.month, SEED_TODAY.day) < (birth.month, birth.day))


def test_each_patient_is_cared_for_by_a_team_licensed_where_they_live(program: SeededProgram) -> None:
    users = {row.id: row for row in _rows(program.engine, User.id, User.role, User.team_id, User.licensed_states)}
    patients = _rows(
        program.engine, Patient.id, Patient.state_of_residence, Patient.prescriber_id, Patient.nurse_id, Patient.team_id
    )

    assert len(patients) == program.summary.patients
    for patient in patients:
        prescriber, nurse = users[patient.prescriber_id], users[patient.nurse_id]
        assert prescriber.role == "prescriber" and nurse.role == "nurse"
        assert patient.state_of_residence in prescriber.licensed_states
        assert patient.team_id == nurse.team_id == prescriber.team_id


def test_current_dose_is_the_last_dose_change(program: SeededProgram) -> None:
    history: dict[int, list[Any]] = defaultdict(list)
    for change in _rows(
        program.engine,
        DoseChange.prescription_id,
        DoseChange.change_type,
        DoseChange.old_dose,
        DoseChange.new_dose,
        DoseChange.new_frequency,
        DoseChange.new_daily_mg,
        DoseChange.changed_at,
        DoseChange.id,
    ):
        history[change.prescription_id].append(change)
    prescriptions = _rows(
        program.engine,
        Prescription.id,
        Prescription.status,
        Prescription.dose,
        Prescription.frequency,
        Prescription.daily_dose_mg,
    )

    assert prescriptions
    for prescription in prescriptions:
        changes = sorted(history[prescription.id], key=lambda change: (change.changed_at, change.id))
        assert changes[0].change_type == "start"
        last = changes[-1]
        if prescription.status == "stopped":
            assert last.change_type == "stop" and last.new_dose is None
            assert last.old_dose == prescription.dose
            last = changes[-2]
        assert last.new_dose == prescription.dose
        assert last.new_frequency == prescription.frequency
        assert last.new_daily_mg == prescription.daily_dose_mg


def test_every_psychiatric_dose_passes_the_rules_engine_dose_check(program: SeededProgram) -> None:
    """Current doses and every step of the titration history are within the maximum for that patient."""
    birth_dates = {row.id: row.date_of_birth for row in _rows(program.engine, Patient.id, Patient.date_of_birth)}
    prescriptions = {
        row.id: row
        for row in _rows(
            program.engine,
            Prescription.id,
            Prescription.patient_id,
            Prescription.drug,
            Prescription.daily_dose_mg,
            Prescription.formulation,
            Prescription.indication,
            where=Prescription.is_psychiatric.is_(True),
        )
    }
    changes = _rows(
        program.engine, DoseChange.prescription_id, DoseChange.new_daily_mg, where=DoseChange.new_daily_mg.is_not(None)
    )

    def check(prescription: Any, daily_mg: float) -> None:
        verdict = clinical.check_dose(
            prescription.drug,
            daily_mg,
            age=_age(birth_dates[prescription.patient_id]),
            formulation=prescription.formulation,
            indication=prescription.indication,
        )
        assert verdict.status == "ok", (prescription, daily_mg, verdict)

    assert prescriptions
    for prescription in prescriptions.values():
        check(prescription, prescription.daily_dose_mg)
    for change in changes:
        if change.prescription_id in prescriptions:
            check(prescriptions[change.prescription_id], change.new_daily_mg)


def test_scores_agree_with_the_scoring_rules(program: SeededProgram) -> None:
    assessments = _rows(
        program.engine,
        Assessment.instrument,
        Assessment.answers,
        Assessment.total,
        Assessment.severity,
        Assessment.source,
        Assessment.visit_id,
    )

    assert {row.instrument for row in assessments} == {"PHQ-9", "GAD-7"}
    assert {row.source for row in assessments} == {"visit", "self-report"}
    for row in assessments[:3000]:
        score = clinical.score_instrument(row.instrument, list(row.answers))
        assert (score.total, score.severity) == (row.total, row.severity)
        assert (row.visit_id is not None) == (row.source == "visit")


def test_storylines_the_demo_depends_on_are_present(program: SeededProgram) -> None:
    engine = program.engine
    open_urgent_self_harm = _rows(
        engine,
        Flag.id,
        where=(Flag.kind == "self_harm")
        & (Flag.severity == "urgent")
        & (Flag.state == "open")
        & Flag.is_open.is_(True),
    )
    grace = timedelta(days=get_settings().overdue_lab_grace_days)
    overdue_labs = _rows(
        engine, LabOrder.id, where=(LabOrder.status == "pending") & (LabOrder.due_by < SEED_TODAY - grace)
    )
    pending_refills = _rows(engine, RefillRequest.id, where=RefillRequest.status == "pending")
    early = _rows(
        engine,
        Prescription.drug,
        RefillRequest.status,
        where=RefillRequest.is_early.is_(True) & (Prescription.id == RefillRequest.prescription_id),
    )
    overdue_visits = _rows(
        engine, Patient.id, where=(Patient.next_visit_due < SEED_TODAY) & (Patient.program_phase != "discharged")
    )

    assert open_urgent_self_harm, "no open urgent self-harm flag"
    assert overdue_labs, "no overdue lab"
    assert pending_refills, "no pending refill request"
    assert any(clinical.drug_schedule(row.drug) for row in early), "no early request for a controlled substance"
    assert overdue_visits, "no overdue visit"


def test_first_self_harm_case_is_on_the_demo_prescribers_caseload(small_program: SeededProgram) -> None:
    rows = _rows(
        small_program.engine,
        User.username,
        where=(User.id == Patient.prescriber_id)
        & (Patient.id == Flag.patient_id)
        & (Flag.kind == "self_harm")
        & (Flag.state == "open"),
    )

    assert "prescriber" in {row.username for row in rows}


def test_some_labs_are_abnormal_and_one_is_critical(larger_program: SeededProgram) -> None:
    results = _rows(
        larger_program.engine, LabResult.test, LabResult.value, LabResult.is_abnormal, LabResult.is_critical
    )

    assert sum(row.is_abnormal for row in results) >= 1
    assert sum(not row.is_abnormal for row in results) > sum(row.is_abnormal for row in results)
    assert any(row.is_critical and "lithium" in row.test.lower() for row in results)


def test_flags_follow_the_triage_rules(program: SeededProgram) -> None:
    flags = _rows(
        program.engine,
        Flag.id,
        Flag.state,
        Flag.is_open,
        Flag.severity,
        Flag.severity_rank,
        Flag.owner_id,
        Flag.resolved_at,
        Flag.version,
        Flag.raised_at,
    )
    events: dict[int, list[Any]] = defaultdict(list)
    for event in _rows(program.engine, FlagEvent.flag_id, FlagEvent.action, FlagEvent.at, FlagEvent.id):
        events[event.flag_id].append(event)
    nurses = {row.id for row in _rows(program.engine, User.id, where=User.role == "nurse")}

    assert {"open", "resolved"} <= {flag.state for flag in flags}
    for flag in flags:
        assert flag.severity_rank == clinical.SEVERITY_ORDER.index(flag.severity)
        assert flag.is_open is (None if flag.state == "resolved" else True)
        assert (flag.resolved_at is not None) == (flag.state == "resolved")
        history = sorted(events[flag.id], key=lambda event: (event.at, event.id))
        assert history[0].action == "raised" and history[0].at == flag.raised_at
        assert len(history) == flag.version
        assert flag.owner_id is None or flag.owner_id in nurses


def test_nothing_happens_after_the_seeded_today(program: SeededProgram) -> None:
    midnight = datetime.combine(SEED_TODAY, time.min)
    with program.engine.connect() as connection:
        for column in (
            Assessment.administered_at,
            Visit.visit_at,
            DoseChange.changed_at,
            Flag.raised_at,
            FlagEvent.at,
            RefillRequest.requested_at,
            RefillRequest.decided_at,
            LabResult.entered_at,
        ):
            assert connection.execute(select(func.max(column))).scalar() < midnight, column
        assert connection.execute(select(func.max(PrescriptionFill.filled_on))).scalar() < SEED_TODAY


def test_identifiers_are_synthetic(program: SeededProgram) -> None:
    patients = _rows(program.engine, Patient.mrn, Patient.emergency_contact_phone, Patient.date_of_birth)

    for patient in patients:
        assert MRN.match(patient.mrn)
        assert PHONE.match(patient.emergency_contact_phone)
        assert 18 <= _age(patient.date_of_birth) <= 75


def test_demo_logins_exist_and_share_the_demo_password(small_program: SeededProgram) -> None:
    users = {
        row.username: row
        for row in _rows(
            small_program.engine,
            User.username,
            User.role,
            User.password_hash,
            User.may_break_glass,
            User.team_id,
            User.full_name,
        )
    }

    for username, role in (
        ("prescriber", "prescriber"),
        ("nurse", "nurse"),
        ("supervisor", "supervisor"),
        ("admin", "admin"),
        ("prescriber2", "prescriber"),
        ("nurse2", "nurse"),
    ):
        user = users[username]
        assert user.role == role
        assert bcrypt.checkpw(DEMO_PASSWORD.encode(), user.password_hash.encode())
        assert user.may_break_glass == (role in ("prescriber", "supervisor"))
    assert users["prescriber"].full_name == "Dr. Maya Rivera, MD"
    assert users["nurse"].team_id == users["prescriber"].team_id
    assert len({user.password_hash for user in users.values()}) == 1  # hashed once, shared
    assert [login.username for login in demo_logins(small_program.summary)][:1] == ["prescriber"]


def test_row_counts_in_the_summary_match_the_database(small_program: SeededProgram) -> None:
    with small_program.engine.connect() as connection:
        for model in (Patient, Prescription, Assessment, Flag, FlagEvent, RefillRequest):
            count = connection.execute(select(func.count()).select_from(model)).scalar()
            assert small_program.summary.row_counts[model.__tablename__] == count
