"""The refill requests page: prescribers decide; nurses see their team's requests read-only."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from db.engine import read_session
from db.models import AuditEvent, RefillRequest
from tests.app.conftest import log_in, new_app
from tests.factories import make_patient, make_refill_request, make_team, make_user

REFILLS = "pages/prescriber/refills.py"
READ_ONLY_NOTE = "Read-only: approving, denying or holding a refill needs prescribing authority (the prescriber)."


@pytest.fixture
def teams(engine: Engine) -> dict:
    team_a, team_b = make_team(engine, "A"), make_team(engine, "B")
    prescriber_a = make_user(engine, "prescriber", team_id=team_a, username="rx_a")
    nurse_a = make_user(engine, "nurse", team_id=team_a, username="rn_a")
    prescriber_b = make_user(engine, "prescriber", team_id=team_b, username="rx_b")
    nurse_b = make_user(engine, "nurse", team_id=team_b, username="rn_b")
    patient_a = make_patient(engine, prescriber=prescriber_a, nurse=nurse_a, mrn="MRN-A", family_name="Alpha")
    patient_b = make_patient(engine, prescriber=prescriber_b, nurse=nurse_b, mrn="MRN-B", family_name="Beta")
    return {
        "refill_a": make_refill_request(engine, patient_a),
        "refill_b": make_refill_request(engine, patient_b, drug="bupropion", dose=150),
    }


def _shown_mrns(app) -> list[str]:  # type: ignore[no-untyped-def]
    return list(app.dataframe[0].value["mrn"])


def test_nurse_sees_her_teams_refill_requests_read_only(teams: dict) -> None:
    app = log_in(new_app(), "rn_a")
    assert "Refill requests" in [link.value for link in app.sidebar.get("page_link")]
    app.switch_page(REFILLS).run()
    assert not app.exception, app.exception
    assert [title.value for title in app.title] == ["Refill requests"]
    assert _shown_mrns(app) == ["MRN-A"]
    assert READ_ONLY_NOTE in [caption.value for caption in app.caption]
    # Nothing to decide with: no decision form at all.
    assert not app.radio and not app.number_input and not app.text_input and not app.selectbox
    assert "Record decision" not in [button.label for button in app.button]
    assert not app.error


def test_other_teams_nurse_sees_only_her_own_team(teams: dict) -> None:
    app = log_in(new_app(), "rn_b").switch_page(REFILLS).run()
    assert _shown_mrns(app) == ["MRN-B"]


def test_prescriber_decides_from_the_same_page(engine: Engine, teams: dict) -> None:
    app = log_in(new_app(), "rx_a").switch_page(REFILLS).run()
    assert _shown_mrns(app) == ["MRN-A"]
    assert READ_ONLY_NOTE not in [caption.value for caption in app.caption]
    refill_id = app.selectbox(key="refill_pick").value
    app.radio(key=f"refill_decision_{refill_id}").set_value("approve")
    app.button(key="refill_save").click().run()
    assert not app.exception, app.exception
    assert "No pending refill requests." in [message.value for message in app.success]
    with read_session(engine) as session:
        refill = session.get(RefillRequest, teams["refill_a"])
        assert refill.status == "approved"
        approvals = session.scalars(select(AuditEvent).where(AuditEvent.action == "refill_approve")).all()
        assert [event.patient_id for event in approvals] == [refill.patient_id]
