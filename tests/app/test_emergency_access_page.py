"""Break the glass through the chart page: the same form and the same refusal for an unknown MRN as for a real
one, read-only charts without forms, and a chart with forms when the patient is at risk now."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from db.commands.access import NOT_GRANTED
from db.models import BreakGlassGrant, Flag
from tests.app.conftest import PROJECT_ROOT, audit_rows, log_in, new_app, rows, shown
from tests.factories import make_patient, make_team, make_user

CHART = str(PROJECT_ROOT / "pages/clinical/patient_chart.py")
REASON = "patient called the crisis line, primary nurse off shift, need the medication list"


@pytest.fixture
def foreign_patient(engine: Engine) -> int:
    make_user(engine, "prescriber", team_id=make_team(engine), username="dr_glass_own")  # not used: own team
    other_team = make_team(engine)
    make_user(engine, "nurse", team_id=make_team(engine), may_break_glass=True, username="rn_glass_ui")
    prescriber = make_user(engine, "prescriber", team_id=other_team)
    return make_patient(engine, prescriber=prescriber, team_id=other_team, mrn="MRN-GLASS", family_name="Far")


def _chart(mrn: str) -> AppTest:
    app = log_in(new_app(), "rn_glass_ui")
    app.query_params["patient"] = mrn
    app = app.switch_page(CHART).run()
    assert not app.exception, app.exception
    return app


def _page_text(app: AppTest) -> list[str]:
    return [str(element.value) for element in app.error] + [
        f"{widget.type}:{widget.label}" for kind in ("selectbox", "text_area", "button") for widget in app.get(kind)
    ]


def _form_picker(app: AppTest, patient_id: int) -> list:
    return [widget for widget in app.get("segmented_control") if widget.key == f"chart_form_{patient_id}"]


def _request(app: AppTest, category: str) -> AppTest:
    app.selectbox(key="break_glass_category").select(category)
    app.text_area(key="break_glass_reason").input(REASON)
    app.button(key="break_glass_go").click()
    app = app.run()
    assert not app.exception, app.exception
    return app


def test_an_unknown_mrn_gets_the_same_page_and_a_policy_refusal(engine: Engine, foreign_patient: int) -> None:
    assert _page_text(_chart("MRN-NOPE")) == _page_text(_chart("MRN-GLASS"))
    app = _request(_chart("MRN-NOPE"), "imminent_risk")
    assert NOT_GRANTED in shown(app.error)
    assert not any("MRN" in message and "no patient" in message.lower() for message in shown(app.error))
    assert rows(engine, BreakGlassGrant) == []
    assert [row.outcome for row in audit_rows(engine, "break_glass")] == ["denied"]


def test_a_records_review_opens_the_chart_read_only(engine: Engine, foreign_patient: int) -> None:
    app = _request(_chart("MRN-GLASS"), "covering_review")
    app = app.run()  # the grant's notice, then the chart
    assert not app.exception, app.exception
    assert "Far, Test" in [title.value for title in app.title]
    assert any("read-only" in message for message in shown(app.info))
    assert not _form_picker(app, foreign_patient), "a read-only emergency grant offers no form"
    assert not app.get("download_button"), "nor an export"
    [grant] = rows(engine, BreakGlassGrant)
    assert (grant.patient_id, grant.category, grant.allows_care) == (foreign_patient, "covering_review", False)
    assert [row.outcome for row in audit_rows(engine, "break_glass")] == ["success"]
    assert [flag.kind for flag in rows(engine, Flag)] == ["emergency_access"]


def test_imminent_risk_opens_the_chart_with_its_forms(engine: Engine, foreign_patient: int) -> None:
    app = _request(_chart("MRN-GLASS"), "imminent_risk").run()
    assert not app.exception, app.exception
    assert "Far, Test" in [title.value for title in app.title]
    assert _form_picker(app, foreign_patient), "care actions are allowed when the patient is at risk now"
    [grant] = rows(engine, BreakGlassGrant)
    assert grant.allows_care is True
