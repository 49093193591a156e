"""Refill decisions (one winner, holds for overdue labs, controlled-substance rules) and lab results."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, func, select

from db.commands import EditConflict, InvalidInput, SafetyBlock
from db.commands.labs import LabResultInput, enter_lab_result
from db.commands.refills import decide_refill
from db.engine import read_session, utcnow, write_session
from db.models import AuditEvent, BreakGlassGrant, Flag, LabOrder, Prescription, PrescriptionFill, RefillRequest
from db.permissions import PermissionDenied
from db.queries.caseload import program_today
from db.queries.queues import refill_queue
from tests.factories import make_patient, make_refill_request, make_team, make_user


@pytest.fixture
def setup(engine: Engine) -> dict:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team, licensed_states=["NY"])
    nurse = make_user(engine, "nurse", team_id=team)
    patient = make_patient(engine, prescriber=prescriber, nurse=nurse, state="NY")
    today = program_today()
    with write_session(engine) as session:

        def prescribe(drug: str, dose: float) -> int:
            rx = Prescription(
                patient_id=patient,
                drug=drug,
                dose=dose,
                unit="mg",
                frequency="twice daily",
                daily_dose_mg=2 * dose,
                start_date=today - timedelta(days=90),
                quantity=60,
                days_supply=30,
                last_fill_date=today - timedelta(days=27),
            )
            session.add(rx)
            session.flush()
            return rx.id

        lithium, lorazepam, sertraline = (
            prescribe("lithium", 300),
            prescribe("lorazepam", 0.5),
            prescribe("sertraline", 50),
        )
        refills = {}
        for name, rx in (("lithium", lithium), ("lorazepam", lorazepam), ("sertraline", sertraline)):
            request = RefillRequest(
                patient_id=patient,
                prescription_id=rx,
                requested_at=utcnow(),
                source="patient",
                quantity=60,
                days_supply=30,
            )
            session.add(request)
            session.flush()
            refills[name] = request.id
        session.add(
            LabOrder(
                patient_id=patient,
                test="Lithium level",
                reason="lithium level every 3 months",
                drug="lithium",
                prescription_id=lithium,
                due_by=today - timedelta(days=5),
            )
        )
        session.add(
            LabOrder(
                patient_id=patient,
                test="TSH",
                reason="lithium: thyroid",
                drug="lithium",
                prescription_id=lithium,
                due_by=today + timedelta(days=20),
            )
        )
    return dict(prescriber=prescriber, nurse=nurse, patient=patient, refills=refills)


def _count(engine: Engine, model: type) -> int:
    with read_session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)))


def test_queue_shows_the_context_and_the_hold_reason(engine: Engine, setup: dict) -> None:
    table = refill_queue(setup["prescriber"]).set_index("refill_id")
    lithium = table.loc[setup["refills"]["lithium"]]
    assert "Lithium level overdue" in lithium["hold_reason"]
    assert "TSH due" in lithium["labs_pending"]
    assert table.loc[setup["refills"]["lorazepam"]]["schedule"] == "IV"
    assert table.loc[setup["refills"]["sertraline"]]["hold_reason"] == ""


def test_nurse_reads_her_teams_refill_queue_but_cannot_decide(engine: Engine, setup: dict) -> None:
    other_team = make_team(engine)
    other_nurse = make_user(engine, "nurse", team_id=other_team)
    other_patient = make_patient(
        engine, prescriber=make_user(engine, "prescriber", team_id=other_team), nurse=other_nurse
    )
    other_refill = make_refill_request(engine, other_patient)

    with write_session(engine) as session:
        # An emergency grant opens the other team's chart, not its queue.
        session.add(
            BreakGlassGrant(
                user_id=setup["nurse"].user_id,
                patient_id=other_patient,
                reason="covering a crisis call",
                expires_at=utcnow() + timedelta(minutes=30),
            )
        )

    mine = refill_queue(setup["nurse"])
    assert set(mine["refill_id"]) == set(setup["refills"].values())
    assert set(mine["patient_id"]) == {setup["patient"]}
    assert "Lithium level overdue" in mine.set_index("refill_id").loc[setup["refills"]["lithium"], "hold_reason"]
    assert list(refill_queue(other_nurse)["refill_id"]) == [other_refill]
    nurse_without_team = make_user(engine, "nurse", team_id=None)
    assert refill_queue(nurse_without_team).empty

    with pytest.raises(PermissionDenied):
        decide_refill(setup["nurse"], setup["refills"]["sertraline"], "approve", expected_version=1)
    with read_session(engine) as session:
        refill = session.get(RefillRequest, setup["refills"]["sertraline"])
        assert (refill.status, refill.version, refill.decided_by_id) == ("pending", 1, None)
        denied = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).one()
        assert (denied.user_id, denied.action, denied.patient_id) == (
            setup["nurse"].user_id,
            "decide_refill",
            setup["patient"],
        )
    assert _count(engine, PrescriptionFill) == 0


def test_supervisor_and_admin_have_no_refill_queue(engine: Engine, setup: dict) -> None:
    for role in ("supervisor", "admin"):
        with pytest.raises(PermissionDenied):
            refill_queue(make_user(engine, role))


def test_overdue_lithium_level_holds_the_lithium_refill(engine: Engine, setup: dict) -> None:
    with pytest.raises(SafetyBlock, match="Lithium level"):
        decide_refill(setup["prescriber"], setup["refills"]["lithium"], "approve", expected_version=1)
    assert _count(engine, PrescriptionFill) == 0


def test_controlled_refill_needs_pdmp_attestation(engine: Engine, setup: dict) -> None:
    with pytest.raises(SafetyBlock, match="PDMP"):
        decide_refill(setup["prescriber"], setup["refills"]["lorazepam"], "approve", expected_version=1)
    decided = decide_refill(
        setup["prescriber"],
        setup["refills"]["lorazepam"],
        "approve",
        expected_version=1,
        pdmp_checked=True,
        approved_quantity=30,
    )
    assert (decided.status, decided.approved_quantity, decided.pdmp_checked) == ("approved", 30, True)
    with read_session(engine) as session:
        fill = session.scalars(select(PrescriptionFill)).one()
    assert (fill.quantity, fill.days_supply) == (30, 30)


def test_deny_and_hold_need_a_reason(engine: Engine, setup: dict) -> None:
    with pytest.raises(InvalidInput):
        decide_refill(setup["prescriber"], setup["refills"]["sertraline"], "deny", expected_version=1)
    held = decide_refill(
        setup["prescriber"],
        setup["refills"]["sertraline"],
        "hold",
        expected_version=1,
        reason="discuss at Friday visit",
    )
    assert held.status == "on_hold"


def test_concurrent_approvals_give_exactly_one_approval(engine: Engine, setup: dict) -> None:
    refill_id = setup["refills"]["sertraline"]
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def approve() -> None:
        barrier.wait()
        try:
            decide_refill(setup["prescriber"], refill_id, "approve", expected_version=1)
            outcomes.append("approved")
        except EditConflict as error:
            outcomes.append(str(error))

    threads = [threading.Thread(target=approve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("approved") == 1
    assert all("already decided this refill (approved)" in o for o in outcomes if o != "approved")
    assert _count(engine, PrescriptionFill) == 1
    with read_session(engine) as session:
        approvals = session.scalar(select(func.count()).where(AuditEvent.action == "refill_approve"))
    assert approvals == 1


def test_result_outside_the_range_raises_a_flag(engine: Engine, setup: dict) -> None:
    with read_session(engine) as session:
        tsh = session.scalars(select(LabOrder).where(LabOrder.test == "TSH")).one()
    result = enter_lab_result(
        setup["nurse"],
        tsh.id,
        LabResultInput(value=9.8, unit="mIU/L", collected_on=program_today(), ref_low=0.4, ref_high=4.5),
        expected_version=tsh.version,
    )
    assert result.is_abnormal and result.interpretation == "high"
    with read_session(engine) as session:
        flag = session.scalars(select(Flag)).one()
        assert flag.kind == "abnormal_lab" and flag.severity == "high"
        assert session.get(LabOrder, tsh.id).status == "resulted"
    with pytest.raises(EditConflict):
        enter_lab_result(
            setup["nurse"],
            tsh.id,
            LabResultInput(value=2.0, unit="mIU/L", collected_on=program_today()),
            expected_version=tsh.version,
        )


def test_future_collection_date_is_refused(engine: Engine, setup: dict) -> None:
    with read_session(engine) as session:
        tsh = session.scalars(select(LabOrder).where(LabOrder.test == "TSH")).one()
    with pytest.raises(InvalidInput) as error:
        enter_lab_result(
            setup["nurse"],
            tsh.id,
            LabResultInput(value=2.0, unit="mIU/L", collected_on=date.today() + timedelta(days=3)),
            expected_version=tsh.version,
        )
    assert "collected_on" in error.value.errors


def test_early_controlled_refill_request_is_flagged_once(engine: Engine, setup: dict) -> None:
    from db.commands.refills import record_refill_request

    with read_session(engine) as session:
        lorazepam = session.scalars(select(Prescription).where(Prescription.drug == "lorazepam")).one()
        sertraline = session.scalars(select(Prescription).where(Prescription.drug == "sertraline")).one()
    # Filled 20 days ago for 30 days: a request today is 10 days early (the tolerance is 2 days).
    with write_session(engine) as session:
        for rx in session.scalars(select(Prescription)):
            rx.last_fill_date = program_today() - timedelta(days=20)
    first = record_refill_request(setup["nurse"], lorazepam.id, quantity=60, days_supply=30)
    record_refill_request(setup["nurse"], lorazepam.id, quantity=60, days_supply=30)
    not_controlled = record_refill_request(setup["nurse"], sertraline.id, quantity=30, days_supply=30)
    assert first.is_early and not_controlled.is_early
    with read_session(engine) as session:
        flags = session.scalars(select(Flag)).all()
    assert [(f.kind, f.severity) for f in flags] == [("early_refill", "high")]
    assert "10 days early" in flags[0].summary


def test_overdue_lab_sweep_raises_one_flag_per_overdue_order(engine: Engine, setup: dict) -> None:
    from db.commands.flags import raise_overdue_lab_flags

    with write_session(engine) as session:
        session.add(
            LabOrder(
                patient_id=setup["patient"],
                test="ALT",
                reason="naltrexone",
                due_by=program_today() - timedelta(days=30),
            )
        )
    assert raise_overdue_lab_flags() == 1  # the lithium level is 5 days overdue: within the 7-day grace
    assert raise_overdue_lab_flags() == 0
    with read_session(engine) as session:
        [flag] = session.scalars(select(Flag)).all()
    assert (flag.kind, flag.severity, flag.source_table) == ("overdue_lab", "moderate", "lab_orders")
