"""Triage actions on flags: state changes, audit, response-time targets, and one winner under concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from db.commands import EditConflict, InvalidInput
from db.commands.flags import act_on_flag
from db.engine import read_session
from db.models import AuditEvent, Flag, FlagEvent
from db.queries.queues import triage_queue
from tests.factories import SELF_HARM, SEVERE_NAUSEA, make_flag, make_patient, make_team, make_user


@pytest.fixture
def setup(engine: Engine) -> dict:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team)
    nurse = make_user(engine, "nurse", team_id=team)
    nurse2 = make_user(engine, "nurse", team_id=team)
    outsider = make_user(engine, "nurse", team_id=make_team(engine))
    patient = make_patient(engine, prescriber=prescriber, nurse=nurse)
    flag = make_flag(engine, patient, SEVERE_NAUSEA, age=timedelta(hours=9))
    fresh = make_flag(engine, patient, SELF_HARM, age=timedelta(minutes=10))
    return dict(
        prescriber=prescriber, nurse=nurse, nurse2=nurse2, outsider=outsider, patient=patient, flag=flag, fresh=fresh
    )


def _flag(engine: Engine, flag_id: int) -> Flag:
    with read_session(engine) as session:
        return session.get(Flag, flag_id)


def test_queue_orders_by_urgency_and_marks_overdue(engine: Engine, setup: dict) -> None:
    table = triage_queue(setup["nurse"])
    assert list(table["flag_id"]) == [setup["fresh"], setup["flag"]]
    overdue = dict(zip(table["flag_id"], table["overdue"], strict=True))
    assert overdue == {setup["fresh"]: False, setup["flag"]: True}  # high: 8 h target, raised 9 h ago
    assert triage_queue(setup["outsider"]).empty


def test_acknowledge_escalate_resolve_change_state_and_are_audited(engine: Engine, setup: dict) -> None:
    flag_id = setup["flag"]
    act_on_flag(setup["nurse"], flag_id, "take_ownership", expected_version=1)
    act_on_flag(setup["nurse"], flag_id, "acknowledge", expected_version=2, note="called patient, stable")
    act_on_flag(setup["nurse"], flag_id, "escalate", expected_version=3, note="needs dose review")
    assert _flag(engine, flag_id).state == "escalated"
    act_on_flag(setup["prescriber"], flag_id, "resolve", expected_version=4, note="dose reduced")
    flag = _flag(engine, flag_id)
    assert (flag.state, flag.is_open, flag.owner_id) == ("resolved", None, setup["nurse"].user_id)
    with read_session(engine) as session:
        events = session.scalars(select(FlagEvent.action).where(FlagEvent.flag_id == flag_id)).all()
        audited = session.scalars(select(AuditEvent.action).where(AuditEvent.record_id == str(flag_id))).all()
    assert events == ["take_ownership", "acknowledge", "escalate", "resolve"]
    assert audited == ["flag_take_ownership", "flag_acknowledge", "flag_escalate", "flag_resolve"]


def test_note_is_required_and_stale_version_refused(engine: Engine, setup: dict) -> None:
    with pytest.raises(InvalidInput):
        act_on_flag(setup["nurse"], setup["flag"], "resolve", expected_version=1, note=" ")
    act_on_flag(setup["nurse"], setup["flag"], "acknowledge", expected_version=1, note="seen")
    with pytest.raises(EditConflict, match="already changed this flag"):
        act_on_flag(setup["nurse2"], setup["flag"], "acknowledge", expected_version=1, note="me too")


def test_concurrent_acknowledgements_have_exactly_one_winner(engine: Engine, setup: dict) -> None:
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def attempt(actor) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            act_on_flag(actor, setup["fresh"], "acknowledge", expected_version=1, note="on it")
            outcomes.append("ok")
        except EditConflict as error:
            outcomes.append(str(error))

    threads = [threading.Thread(target=attempt, args=(setup["nurse"] if n % 2 else setup["nurse2"],)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 1
    assert all("already changed this flag" in outcome for outcome in outcomes if outcome != "ok")
    with read_session(engine) as session:
        assert len(session.scalars(select(FlagEvent).where(FlagEvent.flag_id == setup["fresh"])).all()) == 1


def test_outsider_cannot_act(engine: Engine, setup: dict) -> None:
    from db.permissions import PermissionDenied

    with pytest.raises(PermissionDenied):
        act_on_flag(setup["outsider"], setup["flag"], "take_ownership", expected_version=1)
    assert _flag(engine, setup["flag"]).owner_id is None
