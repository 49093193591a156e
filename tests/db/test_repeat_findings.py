"""A new finding for a cause that already has an open flag is recorded on that flag, never absorbed silently:
a history event naming the new record, a renewed summary and response target, an acknowledged flag reopened,
and the saving user told. For every cause: self-harm, severe side effect, toxic level, worsening score."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select

import clinical
from db.commands.flags import act_on_flag, raise_flags
from db.commands.labs import LabResultInput, enter_lab_result
from db.commands.visits import SideEffectEntry, VisitInput, log_visit
from db.engine import read_session, utcnow, write_session
from db.models import Flag, FlagEvent, LabOrder, Patient, Prescription
from db.queries.caseload import program_today
from db.queries.queues import triage_queue
from tests.factories import make_patient, make_team, make_user


@pytest.fixture
def setup(engine: Engine) -> dict:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team)
    nurse = make_user(engine, "nurse", team_id=team)
    patient = make_patient(engine, prescriber=prescriber, nurse=nurse)
    with write_session(engine) as session:
        prescription = Prescription(
            patient_id=patient,
            drug="lithium",
            dose=900,
            unit="mg",
            frequency="once daily",
            daily_dose_mg=900,
            start_date=date.today() - timedelta(days=60),
            prescriber_id=prescriber.user_id,
        )
        session.add(prescription)
        session.flush()
        rx = prescription.id
    return {"prescriber": prescriber, "nurse": nurse, "patient": patient, "rx": rx}


def _visit(setup: dict, days_ago: float, **fields: object):  # type: ignore[no-untyped-def]
    with read_session() as session:
        version = session.get(Patient, setup["patient"]).version
    return log_visit(
        setup["prescriber"],
        setup["patient"],
        VisitInput(visit_at=utcnow() - timedelta(days=days_ago), modality="video", duration_minutes=20, **fields),
        expected_patient_version=version,
    )


def _only_flag(kind: str) -> tuple[Flag, list[FlagEvent]]:
    with read_session() as session:
        flags = session.scalars(select(Flag).where(Flag.kind == kind)).all()
        assert len(flags) == 1, f"expected one {kind} flag, found {len(flags)}"
        events = list(session.scalars(select(FlagEvent).where(FlagEvent.flag_id == flags[0].id).order_by(FlagEvent.id)))
    return flags[0], events


def _acknowledge(setup: dict, flag: Flag) -> None:
    act_on_flag(setup["nurse"], flag.id, "acknowledge", expected_version=flag.version, note="called the patient")


def test_repeated_self_harm_answer_reopens_an_acknowledged_flag_with_a_fresh_target(
    engine: Engine, setup: dict
) -> None:
    _visit(setup, 3, phq9=[1] * 8 + [1])
    flag, _ = _only_flag("self_harm")
    _acknowledge(setup, flag)

    result = _visit(setup, 0.01, phq9=[2] * 8 + [2])

    assert "self_harm" not in [kind for _, kind, _ in result.flags_raised]
    assert [(severity, kind) for severity, kind, _ in result.flags_updated] == [("urgent", "self_harm")]
    assert "Added to the open urgent self harm flag" in result.summary()
    flag, events = _only_flag("self_harm")
    assert (flag.state, flag.finding_count) == ("open", 2)
    assert "answered 2" in flag.summary
    assert [e.action for e in events] == ["raised", "acknowledge", "new_finding"]
    assert events[-1].source_table == "assessments"
    # Back at the top of the nurse's queue, its age and target counted from the new answer.
    queue = triage_queue(setup["nurse"])
    first = queue.iloc[0]
    assert (first["flag_id"], first["state"], first["overdue"]) == (flag.id, "open", False)
    assert first["age_minutes"] < 60


def test_an_escalated_flag_stays_escalated_but_records_the_new_answer(engine: Engine, setup: dict) -> None:
    _visit(setup, 3, phq9=[1] * 8 + [1])
    flag, _ = _only_flag("self_harm")
    act_on_flag(setup["nurse"], flag.id, "escalate", expected_version=flag.version, note="to prescriber")
    _visit(setup, 0.01, phq9=[1] * 8 + [3])
    flag, events = _only_flag("self_harm")
    assert (flag.state, flag.finding_count, events[-1].action) == ("escalated", 2, "new_finding")


def test_a_repeated_severe_side_effect_is_added_to_its_open_flag(engine: Engine, setup: dict) -> None:
    effect = SideEffectEntry(drug="lithium", symptom="dizziness", severity="severe", prescription_id=setup["rx"])
    first = _visit(setup, 2, side_effects=[effect])
    assert [kind for _, kind, _ in first.flags_raised] == ["severe_side_effect"]
    second = _visit(setup, 0.01, side_effects=[effect])
    assert [kind for _, kind, _ in second.flags_updated] == ["severe_side_effect"]
    flag, events = _only_flag("severe_side_effect")
    assert flag.finding_count == 2
    assert [(e.action, e.source_table) for e in events] == [
        ("raised", "side_effect_reports"),
        ("new_finding", "side_effect_reports"),
    ]
    assert events[0].source_id != events[1].source_id


def test_a_second_toxic_lithium_level_is_added_to_the_open_critical_flag(engine: Engine, setup: dict) -> None:
    with write_session(engine) as session:
        orders = [
            LabOrder(
                patient_id=setup["patient"],
                test="Lithium level",
                reason="level",
                due_by=program_today(),
                status="pending",
            )
            for _ in range(2)
        ]
        session.add_all(orders)
        session.flush()
        order_ids = [order.id for order in orders]
    for order_id, value in zip(order_ids, (1.6, 2.1), strict=True):
        enter_lab_result(
            setup["nurse"],
            order_id,
            LabResultInput(value=value, unit="mmol/L", collected_on=program_today()),
            expected_version=1,
        )
    flag, events = _only_flag("critical_lab")
    assert flag.finding_count == 2 and "2.1" in flag.summary
    assert [e.action for e in events] == ["raised", "new_finding"]


def test_a_further_worsening_score_is_added_to_the_open_worsening_flag(engine: Engine, setup: dict) -> None:
    _visit(setup, 14, phq9=[0] * 9)
    _visit(setup, 7, phq9=[1] * 8 + [0])  # 0 -> 8: worsening
    result = _visit(setup, 0.01, phq9=[2] * 8 + [0])  # 8 -> 16: worsening again
    assert [kind for _, kind, _ in result.flags_updated] == ["worsening_score"]
    flag, events = _only_flag("worsening_score")
    assert flag.finding_count == 2 and "8 -> 16" in flag.summary
    assert [e.action for e in events] == ["raised", "new_finding"]


def test_the_same_source_record_is_recorded_once(engine: Engine, setup: dict) -> None:
    finding = clinical.FlagFinding(kind="self_harm", severity="urgent", cause="self_harm", summary="item 9 = 1")
    with write_session(engine) as session:
        first = raise_flags(session, None, setup["patient"], [finding], source_table="assessments", source_id=7)
        again = raise_flags(session, None, setup["patient"], [finding], source_table="assessments", source_id=7)
        other = raise_flags(session, None, setup["patient"], [finding], source_table="assessments", source_id=8)
        repeat_of_other = raise_flags(
            session, None, setup["patient"], [finding], source_table="assessments", source_id=8
        )
    assert [o.is_new for o in first] == [True]
    assert again == [] and repeat_of_other == []
    assert [o.is_new for o in other] == [False]
    flag, events = _only_flag("self_harm")
    assert flag.finding_count == 2 and len(events) == 2


def test_a_more_severe_finding_raises_the_flags_severity(engine: Engine, setup: dict) -> None:
    moderate = clinical.FlagFinding(kind="suicide_risk", severity="high", cause="suicide_risk", summary="moderate")
    high = clinical.FlagFinding(kind="suicide_risk", severity="urgent", cause="suicide_risk", summary="high risk")
    with write_session(engine) as session:
        raise_flags(session, None, setup["patient"], [moderate], source_table="assessments", source_id=1)
        raise_flags(session, None, setup["patient"], [high], source_table="assessments", source_id=2)
    flag, _ = _only_flag("suicide_risk")
    assert (flag.severity, flag.severity_rank, flag.summary) == ("urgent", 0, "high risk")
