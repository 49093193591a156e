"""Check-in links through the UI: a nurse sends one from the chart (row written once, audit event, the link and
its QR code shown), and a patient answers on the public page without logging in (scores stored, urgent flag,
crisis line shown at once, a second use refused)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from db.commands.checkin import send_checkin_link
from db.models import Assessment, Flag, PatientCheckinLink
from tests.app.conftest import PROJECT_ROOT, audit_rows, log_in, new_app, rows, shown
from tests.factories import make_patient, make_team, make_user

CHART = str(PROJECT_ROOT / "pages/clinical/patient_chart.py")


@pytest.fixture
def care_team(engine: Engine) -> dict:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team, username="dr_links")
    nurse = make_user(engine, "nurse", team_id=team, username="rn_links")
    patient = make_patient(engine, prescriber=prescriber, nurse=nurse, mrn="MRN-LINKS", given_name="Robin")
    return dict(prescriber=prescriber, nurse=nurse, patient=patient)


def _button(app: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(button for button in app.button if button.label == label)


def test_a_nurse_sends_a_link_from_the_chart_once_and_sees_it_with_its_qr_code(engine: Engine, care_team: dict) -> None:
    app = log_in(new_app(), "rn_links")
    app.query_params["patient"] = "MRN-LINKS"
    app = app.switch_page(CHART).run()
    picker = f"chart_form_{care_team['patient']}"
    app.segmented_control(key=picker).set_value("Send a check-in link").run()
    assert not app.exception, app.exception
    app.multiselect(key=f"checkin_send_{care_team['patient']}_measures").set_value(["PHQ-9", "GAD-7"])
    app.number_input(key=f"checkin_send_{care_team['patient']}_hours").set_value(24)
    _button(app, "Create check-in link").click().run()

    assert not app.exception, app.exception
    links = rows(engine, PatientCheckinLink)
    assert [(link.patient_id, link.measures, link.created_by_id) for link in links] == [
        (care_team["patient"], ["PHQ-9", "GAD-7"], care_team["nurse"].user_id)
    ]
    [event] = audit_rows(engine, "send_checkin_link")
    assert (event.user_id, event.patient_id, event.record_id) == (
        care_team["nurse"].user_id,
        care_team["patient"],
        str(links[0].id),
    )
    [notice] = shown(app.success)
    assert notice.startswith("Check-in link created: it works once, until ")
    [code] = [element.value for element in app.code]
    assert code.startswith("http://localhost:8501/?checkin=") and len(code.split("=", 1)[1]) >= 43
    assert len(app.get("image")) == 1  # the QR code, an image of PNG bytes
    assert "Patient check-in: link sent, waiting for the patient" in [e.label for e in app.expander]

    app.run()  # a rerun (or an impatient second click replaying it) writes nothing more
    assert len(rows(engine, PatientCheckinLink)) == 1

    _button(app, "Done: hide the link").click().run()
    assert not app.code


def test_a_prescriber_outside_the_team_is_not_offered_the_action(engine: Engine, care_team: dict) -> None:
    make_user(engine, "prescriber", team_id=make_team(engine), username="dr_other")
    app = log_in(new_app(), "dr_other")
    app.query_params["patient"] = "MRN-LINKS"
    app = app.switch_page(CHART).run()
    assert not app.segmented_control and not rows(engine, PatientCheckinLink)


def _patient_page(token: str) -> AppTest:
    app = new_app()
    app.query_params["checkin"] = token
    return app.run()


def test_the_patient_answers_without_logging_in_sees_the_crisis_line_and_cannot_answer_twice(
    engine: Engine, care_team: dict
) -> None:
    sent = send_checkin_link(care_team["nurse"], care_team["patient"])
    app = _patient_page(sent.token)

    assert not app.exception, app.exception
    assert [t.value for t in app.title] == ["Check-in from your care team"]
    assert len(app.sidebar.children) == 0  # no navigation, no pages, no user
    page_text = " ".join(str(e.value) for e in [*app.markdown, *app.caption])
    assert "MRN-LINKS" not in page_text and "Robin" not in page_text and "Patient" not in page_text
    assert not [w for w in app.text_input if w.label in ("Username", "User name")]  # no login form
    assert "988" in " ".join(str(c.value) for c in app.caption)  # under item 9, always
    [opened] = audit_rows(engine, "checkin_link_opened")
    assert opened.patient_id == care_team["patient"] and opened.username == "patient-link"

    for number, answer in enumerate([2, 2, 1, 2, 1, 1, 1, 0, 1], start=1):
        app.radio(key=f"checkin_PHQ-9_{number}").set_value(answer)
    for number in range(1, 8):
        app.radio(key=f"checkin_GAD-7_{number}").set_value(1)
    app.text_input(key="checkin_effect_1").input("dizzy in the morning")
    app.radio(key="checkin_effect_1_severity").set_value("moderate")
    app.number_input(key="checkin_missed").set_value(1)
    _button(app, "Send my answers").click().run()

    assert not app.exception, app.exception
    errors = shown(app.error)
    assert len(errors) == 1 and "988 Suicide & Crisis Lifeline" in errors[0] and "call or text 988" in errors[0]
    assert shown(app.success) == ["Thank you. Your answers were sent to your care team."]
    stored = rows(engine, Assessment)
    assert sorted((a.instrument, a.total, a.source) for a in stored) == [
        ("GAD-7", 7, "self-report"),
        ("PHQ-9", 11, "self-report"),
    ]
    [flag] = rows(engine, Flag)
    assert (flag.kind, flag.severity, flag.state, flag.patient_id) == (
        "self_harm",
        "urgent",
        "open",
        care_team["patient"],
    )
    assert len(audit_rows(engine, "checkin_submitted")) == 1

    again = _patient_page(sent.token)  # the link opened again, in another browser session
    assert not again.exception, again.exception
    assert any("already been used" in text for text in shown(again.warning))
    assert not [b for b in again.button if b.label == "Send my answers"]
    assert len(rows(engine, Assessment)) == 2


def test_an_unknown_link_shows_only_a_refusal(engine: Engine) -> None:
    app = _patient_page("not-a-real-token-at-all-0123456789")
    assert not app.exception, app.exception
    assert any("not valid" in text for text in shown(app.warning))
    assert not app.radio and not app.text_input
    [refused] = audit_rows(engine, "checkin_link_refused")
    assert (refused.detail, refused.patient_id, refused.outcome) == ("open: unknown", None, "denied")


def test_an_unanswered_question_is_named_and_nothing_is_sent(engine: Engine, care_team: dict) -> None:
    sent = send_checkin_link(care_team["nurse"], care_team["patient"], measures=["PHQ-9"])
    app = _patient_page(sent.token)
    for number in range(1, 9):
        app.radio(key=f"checkin_PHQ-9_{number}").set_value(0)
    _button(app, "Send my answers").click().run()
    assert shown(app.error) == ["Please answer: Mood question 9. Nothing was sent yet."]
    assert rows(engine, Assessment) == [] and rows(engine, PatientCheckinLink)[0].used_at is None


def test_a_prescriber_revokes_a_waiting_link_from_the_chart(engine: Engine, care_team: dict) -> None:
    sent = send_checkin_link(care_team["nurse"], care_team["patient"])
    app = log_in(new_app(), "dr_links")
    app.query_params["patient"] = "MRN-LINKS"
    app = app.switch_page(CHART).run()
    key = f"checkin_revoke_{care_team['patient']}"
    assert app.selectbox(key=f"{key}_link").value == sent.link_id
    app.button(key=f"{key}_save").click().run()

    assert not app.exception, app.exception
    assert shown(app.success) == ["Check-in link revoked: opening it now tells the patient it was withdrawn."]
    [link] = rows(engine, PatientCheckinLink)
    assert link.revoked_at is not None and link.revoked_by_id == care_team["prescriber"].user_id
    [event] = audit_rows(engine, "revoke_checkin_link")
    assert (event.user_id, event.record_id) == (care_team["prescriber"].user_id, str(sent.link_id))
    assert not [s for s in app.selectbox if s.key == f"{key}_link"]  # nothing left to revoke
    assert any(text.startswith("This link was withdrawn") for text in shown(_patient_page(sent.token).warning))
