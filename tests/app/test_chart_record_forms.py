"""Forms on the patient chart, driven as a user would: amend a record, and break-the-glass emergency access.

Each test fills the form by widget key, clicks its button, then checks the row written exactly once, its audit
event, the message shown, and that a second (impatient) click writes nothing more.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from db.engine import utcnow, write_session
from db.models import Amendment, Assessment, AuditEvent, BreakGlassGrant
from tests.app.conftest import PROJECT_ROOT, audit_rows, log_in, new_app, rows, shown
from tests.factories import make_patient, make_team, make_user

CHART = str(PROJECT_ROOT / "pages/clinical/patient_chart.py")


def _open_chart(username: str, mrn: str) -> AppTest:
    app = log_in(new_app(), username)
    app.query_params["patient"] = mrn
    return app.switch_page(CHART).run()


@pytest.fixture
def scored_patient(engine: Engine) -> dict:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team, username="dr_amend")
    nurse = make_user(engine, "nurse", team_id=team)
    patient = make_patient(engine, prescriber=prescriber, nurse=nurse, mrn="MRN-AMEND")
    with write_session(engine) as session:
        assessment = Assessment(
            patient_id=patient,
            instrument="PHQ-9",
            answers=[2, 2, 2, 2, 2, 2, 1, 1, 0],
            total=14,
            severity="moderate",
            administered_at=utcnow() - timedelta(days=3),
            source="clinician",
            entered_by_id=prescriber.user_id,
        )
        session.add(assessment)
        session.flush()
        assessment_id = assessment.id
    return dict(prescriber=prescriber, patient=patient, assessment=assessment_id)


def test_amending_a_score_appends_one_amendment_with_its_audit_event(engine: Engine, scored_patient: dict) -> None:
    app = _open_chart("dr_amend", "MRN-AMEND")
    app.segmented_control(key=f"chart_form_{scored_patient['patient']}").set_value("Amend a record").run()
    assert not app.exception, app.exception
    assert app.selectbox(key="amend_record").value.startswith("PHQ-9 ")
    app.text_area(key="amend_value").input("12")
    app.text_input(key="amend_reason").input("item 3 was keyed as 2; patient said 0")
    app.button(key="amend_save").click().run()

    assert not app.exception, app.exception
    assert shown(app.success) == ["Amendment appended; the original stays in the record."]
    assert not app.error
    amendments = rows(engine, Amendment)
    assert [(a.target_table, a.target_id, a.field, a.old_value, a.new_value, a.reason) for a in amendments] == [
        ("assessments", scored_patient["assessment"], "total", "14", "12", "item 3 was keyed as 2; patient said 0")
    ]
    assert amendments[0].patient_id == scored_patient["patient"]
    assert amendments[0].author_id == scored_patient["prescriber"].user_id
    events = audit_rows(engine, "amend_record")
    assert [(e.patient_id, e.outcome, e.record_type, e.record_id, e.user_id) for e in events] == [
        (
            scored_patient["patient"],
            "success",
            "assessments",
            str(scored_patient["assessment"]),
            scored_patient["prescriber"].user_id,
        )
    ]
    # The original score is untouched: history is append-only.
    assert [a.total for a in rows(engine, Assessment)] == [14]


def test_a_second_click_on_append_amendment_appends_nothing_more(engine: Engine, scored_patient: dict) -> None:
    app = _open_chart("dr_amend", "MRN-AMEND")
    app.segmented_control(key=f"chart_form_{scored_patient['patient']}").set_value("Amend a record").run()
    app.text_area(key="amend_value").input("12")
    app.text_input(key="amend_reason").input("item 3 was keyed as 2; patient said 0")
    token = app.session_state["amend__token"]
    app.button(key="amend_save").click().run()
    assert len(rows(engine, Amendment)) == 1
    # The form closed after the save; a second click of the same submission (its token) appends nothing.
    assert app.segmented_control(key=f"chart_form_{scored_patient['patient']}").value != "Amend a record"
    app.segmented_control(key=f"chart_form_{scored_patient['patient']}").set_value("Amend a record").run()
    app.session_state["amend__token"] = token
    app.text_area(key="amend_value").input("12")
    app.text_input(key="amend_reason").input("item 3 was keyed as 2; patient said 0")
    app.button(key="amend_save").click().run()
    assert not app.exception, app.exception
    assert any("already saved" in message for message in shown(app.info))
    assert len(rows(engine, Amendment)) == 1
    assert len(audit_rows(engine, "amend_record")) == 1


def test_amending_a_score_with_a_non_number_saves_nothing_and_says_why(engine: Engine, scored_patient: dict) -> None:
    app = _open_chart("dr_amend", "MRN-AMEND")
    app.segmented_control(key=f"chart_form_{scored_patient['patient']}").set_value("Amend a record").run()
    app.text_area(key="amend_value").input("twelve")
    app.text_input(key="amend_reason").input("typo")
    app.button(key="amend_save").click().run()
    assert not app.exception, app.exception
    assert len(app.error) == 1
    assert "Nothing was saved" in app.error[0].value and "must be a number" in app.error[0].value
    assert not app.success
    assert rows(engine, Amendment) == [] and audit_rows(engine, "amend_record") == []


@pytest.fixture
def outside_patient(engine: Engine) -> dict:
    nurse = make_user(engine, "nurse", team_id=make_team(engine), username="rn_glass", may_break_glass=True)
    other_team = make_team(engine)
    far_prescriber = make_user(engine, "prescriber", team_id=other_team)
    patient = make_patient(
        engine, prescriber=far_prescriber, team_id=other_team, given_name="Cleo", family_name="Far", mrn="MRN-FAR"
    )
    return dict(nurse=nurse, patient=patient)


def test_breaking_the_glass_grants_one_audited_emergency_access_and_opens_the_chart(
    engine: Engine, outside_patient: dict
) -> None:
    app = _open_chart("rn_glass", "MRN-FAR")
    assert not app.exception, app.exception
    assert shown(app.error)[0].startswith("Not permitted")
    assert "Far, Cleo" not in [title.value for title in app.title]

    # Too short a reason is refused, naming the field, and grants nothing.
    app.text_area(key="break_glass_reason").input("urgent")
    app.button(key="break_glass_go").click().run()
    assert not app.exception, app.exception
    assert any("Nothing was saved" in message and "reason" in message for message in shown(app.error))
    assert rows(engine, BreakGlassGrant) == [] and audit_rows(engine, "break_glass") == []

    app.selectbox(key="break_glass_category").select("imminent_risk")
    app.text_area(key="break_glass_reason").input("Patient called the crisis line; their nurse is unreachable.")
    app.button(key="break_glass_go").click().run()
    assert not app.exception, app.exception
    grants = rows(engine, BreakGlassGrant)
    assert [(g.user_id, g.patient_id) for g in grants] == [
        (outside_patient["nurse"].user_id, outside_patient["patient"])
    ]
    assert grants[0].reason == "Patient called the crisis line; their nurse is unreachable."
    assert grants[0].expires_at > utcnow()
    events = audit_rows(engine, "break_glass")
    assert [(e.patient_id, e.outcome, e.record_id, e.data_category) for e in events] == [
        (outside_patient["patient"], "success", str(grants[0].id), "emergency_access")
    ]
    # What the user sees: the chart itself, no refusal, and the view recorded.
    assert "Far, Cleo" in [title.value for title in app.title]
    assert not app.error
    views = rows(engine, AuditEvent, AuditEvent.action == "view_chart", AuditEvent.outcome == "success")
    assert [v.patient_id for v in views] == [outside_patient["patient"]]

    # Once the chart is open the emergency button is gone, so a second click cannot grant access twice.
    assert not [button for button in app.button if button.key == "break_glass_go"]
    app.run()
    assert len(rows(engine, BreakGlassGrant)) == 1 and len(audit_rows(engine, "break_glass")) == 1
