"""Many clinicians at once, and failures in the middle of a write: no lost, partial or doubled writes."""

from __future__ import annotations

import os
import random
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

import db.commands.medications as medications_module
from db.audit import verify_chain
from db.audit_seal import seal_pending
from db.auth import actor_for
from db.commands import EditConflict, SafetyBlock
from db.commands.flags import act_on_flag
from db.commands.medications import MedicationOrder, start_medication
from db.commands.refills import decide_refill
from db.commands.visits import VisitInput, log_visit
from db.engine import read_session, utcnow
from db.models import (
    AuditEvent,
    DoseChange,
    Flag,
    FlagEvent,
    LabOrder,
    Patient,
    Prescription,
    PrescriptionFill,
    RefillRequest,
    User,
    Visit,
)
from seed import generate

WRITERS = 20
SECONDS = float(os.environ.get("CONCURRENCY_TEST_SECONDS", "30"))


@pytest.fixture
def program(engine: Engine) -> Engine:
    generate(engine, seed=11, patients=80)
    return engine


def _actors(engine: Engine, role: str) -> list:  # type: ignore[type-arg]
    with read_session(engine) as session:
        return [actor_for(user) for user in session.scalars(select(User).where(User.role == role, User.is_active))]


def test_twenty_concurrent_writers_lose_nothing_and_never_act_twice(program: Engine) -> None:
    engine = program
    prescribers, nurses = _actors(engine, "prescriber"), _actors(engine, "nurse")
    with read_session(engine) as session:
        patients_by_prescriber: dict[int, list[int]] = {}
        for patient_id, prescriber_id in session.execute(select(Patient.id, Patient.prescriber_id)).all():
            patients_by_prescriber.setdefault(prescriber_id, []).append(patient_id)
        visits_before = session.scalar(select(func.count()).select_from(Visit))
        audit_before = session.scalar(select(func.count()).select_from(AuditEvent))
    saved_visits: list[int] = []
    decided_refills: list[int] = []
    flag_actions: list[tuple[int, str]] = []
    errors: list[str] = []
    conflicts = [0]
    deadline = time.monotonic() + SECONDS
    lock = threading.Lock()

    def writer(index: int) -> None:
        rng = random.Random(index)
        prescriber = prescribers[index % len(prescribers)]
        nurse = nurses[index % len(nurses)]
        while time.monotonic() < deadline:
            try:
                choice = rng.random()
                if choice < 0.5:
                    patient_id = rng.choice(patients_by_prescriber[prescriber.user_id])
                    with read_session(engine) as session:
                        version = session.get(Patient, patient_id).version
                    result = log_visit(
                        prescriber,
                        patient_id,
                        VisitInput(
                            visit_at=utcnow() - timedelta(minutes=1),
                            modality="video",
                            duration_minutes=20,
                            phq9=[rng.randint(0, 3) for _ in range(8)] + [0],
                            gad7=[rng.randint(0, 3) for _ in range(7)],
                            plan_note=f"writer {index}",
                        ),
                        expected_patient_version=version,
                    )
                    with lock:
                        saved_visits.append(result.visit_id)
                elif choice < 0.75:
                    with read_session(engine) as session:
                        row = session.execute(
                            select(Flag.id, Flag.version)
                            .join(Patient, Patient.id == Flag.patient_id)
                            .where(Patient.team_id == nurse.team_id, Flag.state == "open")
                            .limit(5)
                        ).all()
                    if row:
                        flag_id, version = rng.choice(row)
                        act_on_flag(nurse, flag_id, "acknowledge", expected_version=version, note=f"writer {index}")
                        with lock:
                            flag_actions.append((flag_id, "acknowledge"))
                else:
                    with read_session(engine) as session:
                        row = session.execute(
                            select(RefillRequest.id, RefillRequest.version)
                            .join(Patient, Patient.id == RefillRequest.patient_id)
                            .where(Patient.prescriber_id == prescriber.user_id, RefillRequest.status == "pending")
                            .limit(5)
                        ).all()
                    if row:
                        refill_id, version = rng.choice(row)
                        decide_refill(prescriber, refill_id, "deny", expected_version=version, reason="see at visit")
                        with lock:
                            decided_refills.append(refill_id)
            except (EditConflict, SafetyBlock):
                with lock:
                    conflicts[0] += 1  # the user is told someone else acted first: expected, not an error
            except Exception as error:  # anything else would reach a user as an error
                with lock:
                    errors.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(saved_visits) > 20
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Visit)) == visits_before + len(saved_visits)
        assert session.scalar(select(func.count()).where(Visit.id.in_(saved_visits))) == len(saved_visits)
        # No flag was acknowledged twice in a row: a second acknowledgement needs a new finding that reopened
        # the flag in between (a worsening score at a later visit does that). No refill was decided twice.
        events = session.execute(
            select(FlagEvent.flag_id, FlagEvent.action, FlagEvent.note).order_by(FlagEvent.flag_id, FlagEvent.id)
        ).all()
        state: dict[int, str] = {}
        for flag_id, action, note in events:
            if action == "acknowledge":
                assert state.get(flag_id, "open") == "open", f"flag {flag_id} acknowledged twice"
                state[flag_id] = "acknowledged"
            elif action == "new_finding" and "reopened" in (note or ""):
                assert state.get(flag_id) == "acknowledged"
                state[flag_id] = "open"
        acknowledged = {flag_id for flag_id, action, _ in events if action == "acknowledge"}
        assert acknowledged >= {flag_id for flag_id, _ in flag_actions}
        assert len(decided_refills) == len(set(decided_refills))
        assert session.scalar(
            select(func.count()).where(RefillRequest.id.in_(decided_refills), RefillRequest.status == "denied")
        ) == len(decided_refills)
        audit_after = session.scalar(select(func.count()).select_from(AuditEvent))
    assert audit_after >= audit_before + len(saved_visits) + len(flag_actions) + len(decided_refills)
    # Every audit row the writers left (written in parallel, without a chain lock) is sealed into the chain in
    # id order, and the whole log verifies.
    seal_pending(engine)
    with read_session(engine) as session:
        chain = verify_chain(session)
    assert chain.intact, chain.problem
    assert chain.sealed_rows == chain.rows_checked == audit_after
    print(
        f"\n{WRITERS} writers for {SECONDS:g} s: {len(saved_visits)} visits, {len(flag_actions)} flag actions, "
        f"{len(decided_refills)} refill decisions, {conflicts[0]} conflicts reported to users, 0 errors"
    )


def test_failure_between_the_dose_history_and_the_audit_row_leaves_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.factories import make_patient, make_team, make_user

    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team)
    patient = make_patient(engine, prescriber=prescriber, nurse=make_user(engine, "nurse", team_id=team))

    def connection_lost(*args: object, **kwargs: object) -> None:
        raise OperationalError("INSERT INTO audit_events ...", {}, Exception("server closed the connection"))

    # The prescription, the dose-history row and the lab orders are written; then the audit insert fails.
    monkeypatch.setattr(medications_module, "record_event", connection_lost)
    with pytest.raises(OperationalError):
        start_medication(
            prescriber,
            patient,
            MedicationOrder(drug="lithium", dose=300, unit="mg", frequency="twice daily", reason="bipolar"),
            expected_patient_version=1,
        )
    with read_session(engine) as session:
        for model in (Prescription, DoseChange, LabOrder, AuditEvent):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model.__name__
        assert session.scalar(select(func.count()).select_from(PrescriptionFill)) == 0


def test_two_prescribers_starting_interacting_drugs_at_once_meet_the_interaction_check(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes no longer queue on one program-wide lock (issue 16); writes about one patient still queue, so the
    second order's review sees the first order and blocks the combination instead of both passing review."""
    from tests.factories import make_patient, make_team, make_user

    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team)
    patient = make_patient(engine, prescriber=prescriber, nurse=make_user(engine, "nurse", team_id=team))
    review = medications_module._review

    def slow_review(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        reviewed = review(*args, **kwargs)  # type: ignore[arg-type]
        time.sleep(0.3)  # the other order is reviewed meanwhile, unless it waits for this one to commit
        return reviewed

    monkeypatch.setattr(medications_module, "_review", slow_review)
    outcomes: list[str] = []
    gate = threading.Barrier(2)

    def order(drug: str, dose: float, frequency: str) -> None:
        gate.wait()
        try:
            start_medication(
                prescriber,
                patient,
                MedicationOrder(drug=drug, dose=dose, unit="mg", frequency=frequency, reason="depression"),
                expected_patient_version=1,
            )
            outcomes.append(f"started {drug}")
        except SafetyBlock:
            outcomes.append(f"blocked {drug}")

    threads = [
        threading.Thread(target=order, args=("sertraline", 50, "once daily")),
        threading.Thread(target=order, args=("fluoxetine", 20, "once daily")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcome.split()[0] for outcome in outcomes) == ["blocked", "started"], outcomes
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Prescription)) == 1
