"""Per-patient summaries: kept by the write commands in the write's transaction, equal to a rebuild from history."""

from __future__ import annotations

import ast
import random
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from db.auth import actor_for
from db.commands import EditConflict, InvalidInput, SafetyBlock
from db.commands.caseload import reassign_patients
from db.commands.fhir import import_self_reports
from db.commands.flags import act_on_flag, raise_overdue_lab_flags
from db.commands.refills import decide_refill, record_refill_request
from db.commands.visits import VisitInput, log_visit
from db.engine import read_session, utcnow
from db.models import Flag, Patient, PatientMeasureSummary, PatientSummary, Prescription, RefillRequest, User
from db.permissions import PermissionDenied
from db.queries.caseload import program_today
from db.rebuild_summaries import rebuild
from db.settings import PROJECT_ROOT
from seed import generate
from tests.db.test_fhir_import import ndjson, phq9_observation
from tests.factories import make_patient, make_refill_request, make_team, make_user

SUMMARY_COLUMNS = [c.key for c in PatientSummary.__table__.columns if c.key != "updated_at"]
MEASURE_COLUMNS = [c.key for c in PatientMeasureSummary.__table__.columns]


def summaries(engine: Engine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with read_session(engine) as session:
        patients = session.execute(
            select(*[PatientSummary.__table__.c[name] for name in SUMMARY_COLUMNS]).order_by(PatientSummary.patient_id)
        ).all()
        measures = session.execute(
            select(PatientMeasureSummary.__table__).order_by(
                PatientMeasureSummary.patient_id, PatientMeasureSummary.measure
            )
        ).all()
    return [tuple(row) for row in patients], [tuple(row) for row in measures]


def summary_of(engine: Engine, patient_id: int) -> dict[str, Any]:
    with read_session(engine) as session:
        row = session.get(PatientSummary, patient_id)
        assert row is not None
        values = {name: getattr(row, name) for name in SUMMARY_COLUMNS}
        values["measures"] = {
            m.measure: m
            for m in session.scalars(
                select(PatientMeasureSummary).where(PatientMeasureSummary.patient_id == patient_id)
            )
        }
    return values


def _version(engine: Engine, patient_id: int) -> int:
    with read_session(engine) as session:
        return session.get(Patient, patient_id).version  # type: ignore[union-attr]


def _visit(**fields: Any) -> VisitInput:
    return VisitInput(visit_at=utcnow() - timedelta(minutes=5), modality="video", duration_minutes=30, **fields)


def test_each_write_updates_the_summary_in_its_transaction(engine: Engine) -> None:
    team = make_team(engine)
    nurse = make_user(engine, "nurse", team_id=team)
    ana = make_user(engine, "prescriber", team_id=team)
    ben = make_user(engine, "prescriber", team_id=team)
    supervisor = make_user(engine, "supervisor")
    patient = make_patient(engine, prescriber=ana, nurse=nurse, mrn="MRN-SUM")
    assert summary_of(engine, patient)["prescriber_id"] == ana.user_id

    due = program_today() + timedelta(days=7)
    log_visit(
        ana,
        patient,
        _visit(phq9=[3] * 8 + [1], gad7=[2] * 7, next_visit_due=due),
        expected_patient_version=_version(engine, patient),
    )
    after_visit = summary_of(engine, patient)
    assert after_visit["next_visit_due"] == due and after_visit["last_visit_at"] is not None
    assert (after_visit["urgent_flags"], after_visit["open_flags"]) == (1, after_visit["open_flags"])
    assert after_visit["measures"]["PHQ-9"].baseline_total == after_visit["measures"]["PHQ-9"].latest_total == 25
    assert after_visit["measures"]["GAD-7"].latest_total == 14

    # A self-report scored lower, then its correction: the latest score is the corrected one, with the outcome.
    when = (utcnow() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    import_self_reports(None, ndjson(phq9_observation("MRN-SUM", [1] * 9, "r-1", when=when)))
    assert summary_of(engine, patient)["measures"]["PHQ-9"].latest_total == 9
    correction = phq9_observation("MRN-SUM", [0] * 9, "r-1", when=when) | {"status": "amended"}
    import_self_reports(None, ndjson(correction))
    phq9 = summary_of(engine, patient)["measures"]["PHQ-9"]
    assert (phq9.baseline_total, phq9.latest_total, phq9.response, phq9.remission) == (25, 0, True, True)

    with read_session(engine) as session:
        flag = session.scalars(select(Flag).where(Flag.patient_id == patient, Flag.severity == "urgent")).one()
    act_on_flag(nurse, flag.id, "resolve", expected_version=flag.version, note="called, safe")
    assert summary_of(engine, patient)["urgent_flags"] == 0

    refill = make_refill_request(engine, patient)
    assert summary_of(engine, patient)["pending_refills"] == 1
    with read_session(engine) as session:
        version = session.get(RefillRequest, refill).version  # type: ignore[union-attr]
    decide_refill(ana, refill, "deny", expected_version=version, reason="needs a visit first")
    decided = summary_of(engine, patient)
    assert (decided["pending_refills"], decided["refills_decided"]) == (0, 1)
    assert 0 <= decided["refill_turnaround_hours"] < 1

    reassign_patients(supervisor, [patient], prescriber_id=ben.user_id, reason="cover")
    assert summary_of(engine, patient)["prescriber_id"] == ben.user_id


def test_a_refused_write_leaves_the_summary_as_it_was(engine: Engine) -> None:
    team = make_team(engine)
    ana = make_user(engine, "prescriber", team_id=team)
    patient = make_patient(engine, prescriber=ana)
    before = summaries(engine)
    with pytest.raises(EditConflict):
        log_visit(ana, patient, _visit(phq9=[3] * 9), expected_patient_version=_version(engine, patient) - 1)
    assert summaries(engine) == before


def test_the_seed_summarises_every_patient(engine: Engine) -> None:
    generate(engine, seed=3, patients=12, weeks_history=4)
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(PatientSummary)) == 12
        assert session.scalar(select(func.count()).select_from(PatientMeasureSummary)) > 0
    maintained = summaries(engine)
    rebuild(engine)
    assert summaries(engine) == maintained


def test_maintained_summaries_equal_a_rebuild_after_random_writes(engine: Engine) -> None:
    """Random visits, self-reports and their corrections, flag actions, refill requests and decisions,
    reassignments and the overdue-lab sweep, through the write commands; then a rebuild from history changes
    nothing."""
    generate(engine, seed=11, patients=24, weeks_history=6)
    rng = random.Random(2026)
    with read_session(engine) as session:
        users = {user.id: actor_for(user) for user in session.scalars(select(User))}
        supervisor = next(a for a in users.values() if a.role == "supervisor")
        prescribers = [a for a in users.values() if a.role == "prescriber"]
    reports: list[tuple[str, str, str]] = []

    def patient_row() -> Patient:
        with read_session(engine) as session:
            ids = session.scalars(select(Patient.id).where(Patient.program_phase != "discharged")).all()
            return session.get(Patient, rng.choice(ids))  # type: ignore[return-value]

    def visit() -> None:
        patient = patient_row()
        answers = [rng.randint(0, 3) for _ in range(9)]
        log_visit(
            users[patient.prescriber_id],  # type: ignore[index]
            patient.id,
            VisitInput(
                visit_at=utcnow() - timedelta(minutes=rng.randint(1, 20_000)),
                modality="video",
                duration_minutes=30,
                phq9=answers if rng.random() < 0.8 else None,
                gad7=[rng.randint(0, 3) for _ in range(7)] if rng.random() < 0.6 else None,
                next_visit_due=program_today() + timedelta(days=rng.randint(0, 40)),
            ),
            expected_patient_version=patient.version,
        )

    def self_report() -> None:
        if reports and rng.random() < 0.4:
            mrn, identifier, when = rng.choice(reports)
            resource = phq9_observation(mrn, [rng.randint(0, 3) for _ in range(9)], identifier, when=when)
            import_self_reports(None, ndjson(resource | {"status": "corrected"}))
            return
        patient = patient_row()
        identifier = f"report-{len(reports)}"
        when = (utcnow() - timedelta(days=rng.randint(0, 60))).strftime("%Y-%m-%dT%H:%M:%SZ")
        import_self_reports(
            None, ndjson(phq9_observation(patient.mrn, [rng.randint(0, 3) for _ in range(9)], identifier, when=when))
        )
        reports.append((patient.mrn, identifier, when))

    def flag_action() -> None:
        with read_session(engine) as session:
            flags = session.execute(
                select(Flag.id, Flag.version, Flag.state, Patient.nurse_id)
                .join(Patient, Patient.id == Flag.patient_id)
                .where(Flag.state != "resolved", Patient.nurse_id.is_not(None))
            ).all()
        if flags:
            flag_id, version, state, nurse_id = rng.choice(flags)
            action = "acknowledge" if state == "open" and rng.random() < 0.5 else "resolve"
            act_on_flag(users[nurse_id], flag_id, action, expected_version=version, note="reviewed")

    def refill_request() -> None:
        with read_session(engine) as session:
            prescriptions = session.execute(
                select(Prescription.id, Patient.prescriber_id)
                .join(Patient, Patient.id == Prescription.patient_id)
                .where(Prescription.status == "active", Prescription.is_psychiatric.is_(True))
            ).all()
        prescription_id, prescriber_id = rng.choice(prescriptions)
        record_refill_request(users[prescriber_id], prescription_id, quantity=30, days_supply=30)

    def refill_decision() -> None:
        with read_session(engine) as session:
            pending = session.execute(
                select(RefillRequest.id, RefillRequest.version, Patient.prescriber_id)
                .join(Patient, Patient.id == RefillRequest.patient_id)
                .where(RefillRequest.status.in_(("pending", "on_hold")))
            ).all()
        if pending:
            refill_id, version, prescriber_id = rng.choice(pending)
            decision = rng.choice(["approve", "deny", "hold"])
            decide_refill(
                users[prescriber_id],
                refill_id,
                decision,
                expected_version=version,
                reason="reviewed",
                pdmp_checked=True,
            )

    def reassignment() -> None:
        patient = patient_row()
        reassign_patients(supervisor, [patient.id], prescriber_id=rng.choice(prescribers).user_id, reason="cover")

    def sweep() -> None:
        raise_overdue_lab_flags(engine=engine)

    writes = [visit, visit, self_report, self_report, flag_action, refill_request, refill_decision, reassignment, sweep]
    done = 0
    for _ in range(60):
        try:
            rng.choice(writes)()
            done += 1
        except (InvalidInput, SafetyBlock, EditConflict, PermissionDenied):
            pass  # refused writes write nothing, the summary included
    assert done >= 30
    maintained = summaries(engine)
    assert len(maintained[0]) == 24
    rebuild(engine)
    assert summaries(engine) == maintained


# What a write must do to the rows a summary reads; a command function doing one must refresh the summary.
SUMMARY_INPUTS = re.compile(
    r"raise_flags\(|\bVisit\(|\bAssessment\(|update\(Flag\)|update\(RefillRequest\)|\bRefillRequest\(|\bPatient\("
    r"|\b(\w+)\.(prescriber_id|nurse_id|program_phase|program_start_date|next_visit_due) = (?!\1\.\2\b)"
)


def test_every_command_that_changes_a_summarised_row_refreshes_the_summary() -> None:
    """Through helpers too: a command whose helper (in any command module) writes a summarised row must refresh,
    itself or through a helper (a check-in's answers raise flags in ``visits.raise_findings``)."""
    bodies: dict[str, str] = {}
    for path in sorted((PROJECT_ROOT / "db" / "commands").glob("*.py")):
        source = path.read_text()
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef) and node.name != "raise_flags":
                bodies[f"{path.name}:{node.name}"] = ast.get_source_segment(source, node) or ""

    def closure(direct: set[str]) -> set[str]:
        """The functions in ``direct`` and every function that calls one of them, however indirectly."""
        found = set(direct)
        while True:
            names = {key.split(":")[1] for key in found}
            callers = {
                key for key, body in bodies.items() if key not in found and any(f"{n}(" in body for n in names)
            }
            if not callers:
                return found
            found |= callers

    changes = closure({key for key, body in bodies.items() if SUMMARY_INPUTS.search(body)})
    refreshes = closure({key for key, body in bodies.items() if "refresh_patient_summary(" in body})
    commands = {key for key, body in bodies.items() if "write_session(" in body or key.endswith(":save_visit")}
    assert sorted(commands & changes - refreshes) == []
