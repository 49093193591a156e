"""The nurse's triage actions (take ownership, acknowledge, escalate, resolve), driven through the triage page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from components.triage_view import ACTIONS
from db.models import AuditEvent, Flag, FlagEvent
from tests.app.conftest import PROJECT_ROOT, log_in, new_app, rows, shown
from tests.factories import SELF_HARM, SEVERE_NAUSEA, make_flag, make_patient, make_team, make_user

TRIAGE = str(PROJECT_ROOT / "pages/nurse/triage.py")
# The state each action leaves an open flag in.
NEW_STATE = {"take_ownership": "open", "acknowledge": "acknowledged", "escalate": "escalated", "resolve": "resolved"}


@pytest.fixture
def flags(engine: Engine) -> dict:
    team = make_team(engine)
    nurse = make_user(engine, "nurse", team_id=team, username="rn_triage")
    prescriber = make_user(engine, "prescriber", team_id=team)
    patient = make_patient(engine, prescriber=prescriber, nurse=nurse, mrn="MRN-TRIAGE")
    urgent = make_flag(engine, patient, SELF_HARM, age=timedelta(minutes=10))
    high = make_flag(engine, patient, SEVERE_NAUSEA, age=timedelta(hours=2))
    return dict(nurse=nurse, patient=patient, urgent=urgent, high=high)


def _triage_page() -> AppTest:
    app = log_in(new_app(), "rn_triage").switch_page(TRIAGE).run()
    assert not app.exception, app.exception
    return app


def _act(app: AppTest, action: str, note: str) -> AppTest:
    app.radio(key="triage_action").set_value(action)
    if note:
        app.text_area(key="triage_note").input(note)
    return app.button(key="triage_save").click().run()


def _flag_events(engine: Engine) -> list[tuple[int, str]]:
    return [(e.flag_id, e.action) for e in rows(engine, FlagEvent)]


def _triage_audit(engine: Engine) -> list[AuditEvent]:
    return [e for e in rows(engine, AuditEvent) if e.action.startswith("flag_")]


@pytest.mark.parametrize("action", list(ACTIONS))
def test_a_triage_action_changes_the_flag_once_with_its_event_and_audit(
    engine: Engine, flags: dict, action: str
) -> None:
    app = _triage_page()
    # The most urgent flag comes first and is the one the picker opens on.
    assert app.selectbox(key="triage_flag").value == flags["urgent"]
    note = "" if action == "take_ownership" else f"{action}: called the patient, safety plan reviewed"
    app = _act(app, action, note)

    assert not app.exception, app.exception
    assert not app.error
    assert [message.split(" for ")[0] for message in shown(app.success)] == [f"{ACTIONS[action]}: done"]
    flag = rows(engine, Flag, Flag.id == flags["urgent"])[0]
    assert (flag.state, flag.owner_id, flag.updated_by_id, flag.version) == (
        NEW_STATE[action],
        flags["nurse"].user_id,
        flags["nurse"].user_id,
        2,
    )
    assert flag.is_open is (None if action == "resolve" else True)
    if action == "resolve":
        assert flag.resolution_note == note
    events = rows(engine, FlagEvent)
    assert [(e.flag_id, e.action, e.note, e.actor_id) for e in events] == [
        (flags["urgent"], action, note or None, flags["nurse"].user_id)
    ]
    audits = _triage_audit(engine)
    assert [(e.action, e.patient_id, e.record_id, e.outcome, e.user_id) for e in audits] == [
        (f"flag_{action}", flags["patient"], str(flags["urgent"]), "success", flags["nurse"].user_id)
    ]
    # The other flag is untouched.
    assert rows(engine, Flag, Flag.id == flags["high"])[0].version == 1


@pytest.mark.parametrize(
    "action",
    [
        "take_ownership",
        "acknowledge",
        "escalate",
        "resolve",
    ],
)
def test_a_second_click_on_save_changes_nothing_more(engine: Engine, flags: dict, action: str) -> None:
    note = "" if action == "take_ownership" else f"{action}: called the patient"
    app = _act(_triage_page(), action, note)
    assert _flag_events(engine) == [(flags["urgent"], action)]
    app.button(key="triage_save").click().run()  # the impatient second click, after the first save
    assert not app.exception, app.exception
    assert _flag_events(engine) == [(flags["urgent"], action)]
    assert len(_triage_audit(engine)) == 1
    assert [f.version for f in rows(engine, Flag)] == [2, 1]
    # The user is told why nothing happened (the note was cleared by the first save).
    assert any("Nothing was saved" in message for message in shown(app.error))


def test_acknowledging_without_a_note_saves_nothing_and_names_the_field(engine: Engine, flags: dict) -> None:
    app = _act(_triage_page(), "acknowledge", "")
    assert not app.exception, app.exception
    assert len(app.error) == 1 and "Nothing was saved" in app.error[0].value and "note" in app.error[0].value
    assert not app.success
    assert _flag_events(engine) == [] and _triage_audit(engine) == []
    assert [f.version for f in rows(engine, Flag)] == [1, 1]


def test_queue_labels_severity_with_a_word_and_links_each_flag_to_the_chart(engine: Engine, flags: dict) -> None:
    app = _triage_page()
    table = next(frame.value for frame in app.dataframe if "chart" in frame.value.columns)
    assert list(table["severity"]) == ["●●●● urgent", "●●●○ high"]  # a meter and the word, not colour alone
    assert list(table["chart"]) == ["/chart?patient=MRN-TRIAGE"] * 2
    assert list(table["crisis_plan"]) == ["/chart?patient=MRN-TRIAGE&show=crisis-plan"] * 2
    assert "flag_id" not in table.columns and "version" not in table.columns
    badges = [block.value for block in app.markdown if "-badge[" in block.value]
    assert badges[0].startswith(":red-badge[:material/emergency: URGENT]") and "self harm" in badges[0]
    assert badges[1].startswith(":orange-badge[:material/warning: HIGH]") and "severe side effect" in badges[1]
    links = [element.proto for element in app.get("page_link") if "MRN-TRIAGE" in element.proto.query_string]
    assert [(link.label, link.page, link.query_string) for link in links] == [
        ("Open this patient's chart", "chart", "patient=MRN-TRIAGE"),
        ("Open the crisis plan", "chart", "patient=MRN-TRIAGE&show=crisis-plan"),
    ]


@pytest.mark.parametrize("action", ["acknowledge", "escalate"])
def test_after_an_action_the_picker_and_the_queue_show_the_new_state_without_a_refresh(
    engine: Engine, flags: dict, action: str
) -> None:
    app = _act(_triage_page(), action, f"{action}: called the patient")
    assert not app.exception, app.exception
    picker = app.selectbox(key="triage_flag")
    # The same flag stays picked, its label now naming the state the action left it in.
    assert picker.value == flags["urgent"]
    assert picker.options[0].endswith(f"· self harm · {NEW_STATE[action]}")
    table = next(frame.value for frame in app.dataframe if "chart" in frame.value.columns)
    assert list(table["state"]) == [NEW_STATE[action], "open"]
    assert table["owner"].iloc[0] is not None
