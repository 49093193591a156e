"""The prescriber's refill decision form (approve / deny / hold), driven through the refill page as a user would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from db.engine import utcnow, write_session
from db.models import AuditEvent, Prescription, PrescriptionFill, RefillRequest
from db.queries.caseload import program_today
from tests.app.conftest import PROJECT_ROOT, log_in, new_app, rows, shown
from tests.factories import make_patient, make_team, make_user

REFILLS = str(PROJECT_ROOT / "pages/prescriber/refills.py")
NOTICES = {
    "approve": "refill of sertraline approved.",
    "deny": "refill of sertraline denied.",
    "hold": "refill of sertraline put on hold.",
}
STATUSES = {"approve": "approved", "deny": "denied", "hold": "on_hold"}


def _request(engine: Engine, patient_id: int, drug: str, *, minutes_ago: int) -> int:
    """An active prescription filled 27 days ago and a pending refill request for it."""
    today = program_today()
    with write_session(engine) as session:
        prescription = Prescription(
            patient_id=patient_id,
            drug=drug,
            dose=10 if drug == "escitalopram" else 0.5 if drug == "lorazepam" else 50,
            unit="mg",
            frequency="once daily",
            daily_dose_mg=10,
            start_date=today - timedelta(days=90),
            quantity=30,
            days_supply=30,
            last_fill_date=today - timedelta(days=27),
        )
        session.add(prescription)
        session.flush()
        request = RefillRequest(
            patient_id=patient_id,
            prescription_id=prescription.id,
            requested_at=utcnow() - timedelta(minutes=minutes_ago),
            source="pharmacy",
            quantity=30,
            days_supply=30,
        )
        session.add(request)
        session.flush()
        return request.id


@pytest.fixture
def queue(engine: Engine) -> dict:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team, username="dr_refill", licensed_states=["NY"])
    first = make_patient(engine, prescriber=prescriber, given_name="Ann", family_name="First", mrn="MRN-R1")
    second = make_patient(engine, prescriber=prescriber, given_name="Ben", family_name="Second", mrn="MRN-R2")
    return dict(
        prescriber=prescriber,
        first_patient=first,
        # Oldest first in the queue: the sertraline request is the one the picker opens on.
        first=_request(engine, first, "sertraline", minutes_ago=60),
        second=_request(engine, second, "escitalopram", minutes_ago=30),
    )


def _refill_page(username: str = "dr_refill") -> AppTest:
    app = log_in(new_app(), username).switch_page(REFILLS).run()
    assert not app.exception, app.exception
    return app


def _decide(app: AppTest, refill_id: int, decision: str, *, quantity: int | None = None, reason: str = "") -> AppTest:
    assert app.selectbox(key="refill_pick").value == refill_id
    app.radio(key=f"refill_decision_{refill_id}").set_value(decision)
    if quantity is not None:
        app.number_input(key=f"refill_quantity_{refill_id}").set_value(quantity)
    if reason:
        app.text_input(key=f"refill_reason_{refill_id}").input(reason)
    return app.button(key="refill_save").click().run()


def _decisions(engine: Engine) -> list[tuple[int, str]]:
    return [(r.id, r.status) for r in rows(engine, RefillRequest) if r.status not in ("pending",)]


def _refill_events(engine: Engine) -> list[AuditEvent]:
    return [e for e in rows(engine, AuditEvent) if e.action.startswith("refill_")]


@pytest.mark.parametrize("decision", ["approve", "deny", "hold"])
def test_a_refill_decision_is_recorded_once_with_its_audit_event(engine: Engine, queue: dict, decision: str) -> None:
    app = _refill_page()
    reason = "" if decision == "approve" else f"reason to {decision}: call the patient first"
    app = _decide(app, queue["first"], decision, quantity=45 if decision == "approve" else None, reason=reason)

    assert not app.exception, app.exception
    assert not app.error
    assert any(message.endswith(f"(MRN-R1): {NOTICES[decision]}") for message in shown(app.success))
    refill = rows(engine, RefillRequest, RefillRequest.id == queue["first"])[0]
    assert (refill.status, refill.decided_by_id, refill.version) == (
        STATUSES[decision],
        queue["prescriber"].user_id,
        2,
    )
    assert refill.decision_reason == (reason or None)
    assert refill.approved_quantity == (45 if decision == "approve" else None)
    fills = [(fill.refill_request_id, fill.quantity) for fill in rows(engine, PrescriptionFill)]
    assert fills == ([(queue["first"], 45)] if decision == "approve" else [])
    events = _refill_events(engine)
    assert [(e.action, e.patient_id, e.record_id, e.outcome, e.user_id) for e in events] == [
        (f"refill_{decision}", queue["first_patient"], str(queue["first"]), "success", queue["prescriber"].user_id)
    ]
    # The other request in the queue is untouched.
    assert rows(engine, RefillRequest, RefillRequest.id == queue["second"])[0].status == "pending"


@pytest.mark.parametrize(
    "decision",
    [
        # After a save the picker moves on with no decision chosen: a second click decides nothing, unseen.
        "approve",
        "deny",
        "hold",
    ],
)
def test_a_second_click_on_record_decision_decides_nothing_more(engine: Engine, queue: dict, decision: str) -> None:
    app = _refill_page()
    reason = "" if decision == "approve" else f"reason to {decision}: call the patient first"
    app = _decide(app, queue["first"], decision, reason=reason)
    assert _decisions(engine) == [(queue["first"], STATUSES[decision])]
    app.button(key="refill_save").click().run()  # the impatient second click, after the first save
    assert not app.exception, app.exception
    assert _decisions(engine) == [(queue["first"], STATUSES[decision])]
    assert len(_refill_events(engine)) == 1
    assert len(rows(engine, PrescriptionFill)) == (1 if decision == "approve" else 0)


def test_deciding_the_last_request_says_it_was_decided(engine: Engine) -> None:
    prescriber = make_user(engine, "prescriber", team_id=make_team(engine), username="dr_last")
    patient = make_patient(engine, prescriber=prescriber)
    only = _request(engine, patient, "sertraline", minutes_ago=5)
    app = _decide(_refill_page("dr_last"), only, "approve")
    assert not app.exception, app.exception
    assert [(r.id, r.status) for r in rows(engine, RefillRequest)] == [(only, "approved")]
    assert any(message.endswith("refill of sertraline approved.") for message in shown(app.success))
    assert "No pending refill requests." in shown(app.success)


def test_a_controlled_refill_is_blocked_without_the_pdmp_check_then_approved_with_it(engine: Engine) -> None:
    prescriber = make_user(engine, "prescriber", team_id=make_team(engine), username="dr_pdmp", licensed_states=["NY"])
    patient = make_patient(engine, prescriber=prescriber, state="NY")
    refill_id = _request(engine, patient, "lorazepam", minutes_ago=5)
    _request(engine, patient, "sertraline", minutes_ago=1)  # a second request, so the queue stays on screen
    app = _decide(_refill_page("dr_pdmp"), refill_id, "approve")
    assert not app.exception, app.exception
    assert any("Nothing was saved" in message and "PDMP" in message for message in shown(app.error))
    assert _decisions(engine) == [] and _refill_events(engine) == [] and rows(engine, PrescriptionFill) == []

    app.checkbox(key=f"refill_pdmp_{refill_id}").check()
    app.button(key="refill_save").click().run()
    assert not app.exception, app.exception
    assert any(message.endswith("refill of lorazepam approved.") for message in shown(app.success))
    refill = rows(engine, RefillRequest, RefillRequest.id == refill_id)[0]
    assert (refill.status, refill.pdmp_checked) == ("approved", True)
    assert [(e.action, e.patient_id) for e in _refill_events(engine)] == [("refill_approve", patient)]
