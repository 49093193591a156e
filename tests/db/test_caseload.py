"""The caseload: only the prescriber's patients, the right figures, attention order, fixed query count."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, insert, select

from db.commands.flags import raise_flags
from db.engine import utcnow, write_session
from db.models import Assessment, Flag, LabOrder, Patient, Prescription, RefillRequest
from db.permissions import PermissionDenied
from db.queries.caseload import caseload
from db.summary import refresh_patient_summary
from tests.factories import make_patient, make_team, make_user
from tests.statement_counter import count_statements

TODAY = date(2026, 11, 20)


@pytest.fixture
def program(engine: Engine) -> dict:
    team = make_team(engine)
    mine = make_user(engine, "prescriber", team_id=team)
    theirs = make_user(engine, "prescriber", team_id=team)
    nurse = make_user(engine, "nurse", team_id=team)
    supervisor = make_user(engine, "supervisor")
    calm = make_patient(engine, prescriber=mine, nurse=nurse, family_name="Calm", next_visit_due=TODAY + timedelta(3))
    urgent = make_patient(
        engine, prescriber=mine, nurse=nurse, family_name="Urgent", next_visit_due=TODAY + timedelta(5)
    )
    other = make_patient(engine, prescriber=theirs, nurse=nurse, family_name="Elsewhere")
    at = utcnow() - timedelta(days=1)
    with write_session(engine) as session:
        for days_ago, total in ((21, 18), (14, 12), (7, 10)):
            session.add(
                Assessment(
                    patient_id=calm,
                    instrument="PHQ-9",
                    answers=[],
                    total=total,
                    severity="x",
                    administered_at=at - timedelta(days=days_ago),
                    source="visit",
                )
            )
        session.add(
            Flag(
                patient_id=urgent,
                kind="self_harm",
                severity="urgent",
                severity_rank=0,
                cause="self_harm",
                summary="PHQ-9 item 9 answered 2",
                state="open",
                is_open=True,
            )
        )
        session.add(LabOrder(patient_id=calm, test="TSH", reason="lithium", due_by=TODAY - timedelta(days=3)))
        session.add(LabOrder(patient_id=calm, test="Creatinine", reason="lithium", due_by=TODAY + timedelta(days=3)))
        rx = Prescription(
            patient_id=calm,
            drug="lithium",
            dose=300,
            unit="mg",
            frequency="twice daily",
            daily_dose_mg=600,
            start_date=TODAY - timedelta(days=60),
        )
        session.add(rx)
        session.flush()
        session.add(
            RefillRequest(
                patient_id=calm, prescription_id=rx.id, requested_at=at, source="patient", quantity=60, days_supply=30
            )
        )
        refresh_patient_summary(session, [calm, urgent, other])  # rows added here, not by a command: as a command does
    return dict(mine=mine, theirs=theirs, nurse=nurse, supervisor=supervisor, calm=calm, urgent=urgent, other=other)


def test_caseload_lists_only_the_prescribers_patients_with_the_right_figures(engine: Engine, program: dict) -> None:
    table = caseload(program["mine"], today=TODAY)
    assert set(table["patient_id"]) == {program["calm"], program["urgent"]}
    calm = table.set_index("patient_id").loc[program["calm"]]
    assert (calm["PHQ-9"], calm["PHQ-9 Δ prev"], calm["PHQ-9 Δ baseline"]) == (10, -2, -8)
    assert (calm["Labs pending"], calm["Labs overdue"], calm["Refills pending"]) == (2, 1, 1)
    assert calm["Medications"] == "lithium 300 mg twice daily"
    urgent = table.set_index("patient_id").loc[program["urgent"]]
    assert (urgent["Open flags"], urgent["Top flag"]) == (1, "urgent")


def test_default_order_puts_the_urgent_flag_first(engine: Engine, program: dict) -> None:
    table = caseload(program["mine"], today=TODAY)
    assert table.iloc[0]["patient_id"] == program["urgent"]
    assert bool(table.iloc[0]["Needs attention"])


def test_supervisor_opens_any_caseload_but_a_prescriber_only_their_own(engine: Engine, program: dict) -> None:
    theirs = caseload(program["supervisor"], prescriber_id=program["theirs"].user_id, today=TODAY)
    assert list(theirs["patient_id"]) == [program["other"]]
    with pytest.raises(PermissionDenied):
        caseload(program["mine"], prescriber_id=program["theirs"].user_id, today=TODAY)
    with pytest.raises(PermissionDenied):
        caseload(program["nurse"], today=TODAY)


def _add_patients(engine: Engine, prescriber, nurse, count: int) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    with write_session(engine) as session:
        session.execute(
            insert(Patient),
            [
                dict(
                    mrn=f"BULK-{prescriber.user_id}-{n:05d}",
                    given_name="Bulk",
                    family_name=f"P{n}",
                    date_of_birth=date(1980, 1, 1),
                    sex="male",
                    state_of_residence="NY",
                    program_phase="intensive",
                    program_start_date=TODAY - timedelta(days=30),
                    prescriber_id=prescriber.user_id,
                    nurse_id=nurse.user_id,
                    team_id=nurse.team_id,
                    created_at=now,
                    version=1,
                )
                for n in range(count)
            ],
        )


def test_statement_count_does_not_grow_with_the_caseload(engine: Engine) -> None:
    team = make_team(engine)
    nurse = make_user(engine, "nurse", team_id=team)
    small, large = make_user(engine, "prescriber", team_id=team), make_user(engine, "prescriber", team_id=team)
    _add_patients(engine, small, nurse, 10)
    _add_patients(engine, large, nurse, 200)
    with count_statements(engine) as small_statements:
        assert len(caseload(small, today=TODAY)) == 10
    with count_statements(engine) as large_statements:
        assert len(caseload(large, today=TODAY)) == 200
    # Seven reads (the last visit comes with the summary) and the newest check-in link.
    assert len(small_statements) == len(large_statements) == 8


def test_raise_flags_never_duplicates_an_open_cause(engine: Engine, program: dict) -> None:
    import clinical

    finding = clinical.FlagFinding(kind="self_harm", severity="urgent", cause="self_harm", summary="again")
    with write_session(engine) as session:
        outcomes = raise_flags(session, None, program["urgent"], [finding])
        # No second flag: the finding is recorded on the open one.
        assert [(outcome.is_new, outcome.flag.summary) for outcome in outcomes] == [(False, "again")]
        open_flags = session.scalars(
            select(Flag).where(Flag.patient_id == program["urgent"], Flag.cause == "self_harm", Flag.is_open.is_(True))
        ).all()
        assert len(open_flags) == 1
