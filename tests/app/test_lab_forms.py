"""Entering a lab result through the Labs page as a nurse: the form is prefilled from the lab catalogue, saves
the result once with its audit event and flag, and reports the outcome."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from db.engine import read_session, write_session
from db.models import AuditEvent, Flag, LabOrder, LabResult
from db.queries.caseload import program_today
from tests.app.conftest import PROJECT_ROOT, log_in, new_app
from tests.factories import make_patient, make_team, make_user

LABS = str(PROJECT_ROOT / "pages/nurse/labs.py")


@pytest.fixture
def lithium_order(engine: Engine) -> int:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team)
    nurse = make_user(engine, "nurse", team_id=team, username="rn_labs")
    patient = make_patient(engine, prescriber=prescriber, nurse=nurse, mrn="MRN-LI", given_name="Lia")
    with write_session(engine) as session:
        order = LabOrder(
            patient_id=patient,
            test="Lithium level",
            loinc="14334-7",
            reason="lithium maintenance",
            drug="lithium",
            due_by=program_today() - timedelta(days=1),
            status="pending",
        )
        session.add(order)
        session.flush()
        return order.id


def test_a_lithium_level_is_entered_once_with_its_flag_audit_and_message(engine: Engine, lithium_order: int) -> None:
    app = log_in(new_app(), "rn_labs")
    app = app.switch_page(LABS).run()
    assert not app.exception, app.exception
    key = f"lab_{lithium_order}"
    # Prefilled from the catalogue: the unit and the reference range the order's test knows.
    assert app.text_input(key=f"{key}_unit").value == "mmol/L"
    assert (app.number_input(key=f"{key}_low").value, app.number_input(key=f"{key}_high").value) == (0.6, 1.2)

    app.number_input(key=f"{key}_value").set_value(1.6)
    app.button(key="lab_save").click().run()
    assert not app.exception, app.exception

    with read_session(engine) as session:
        results = session.scalars(select(LabResult)).all()
        order = session.get(LabOrder, lithium_order)
        flags = session.scalars(select(Flag)).all()
        audits = session.scalars(select(AuditEvent).where(AuditEvent.action == "enter_lab_result")).all()
    assert [(r.value, r.unit, r.ref_low, r.ref_high, r.is_critical) for r in results] == [
        (1.6, "mmol/L", 0.6, 1.2, True)
    ]
    assert order is not None and order.status == "resulted"
    assert [(f.kind, f.severity) for f in flags] == [("critical_lab", "urgent")]
    assert [a.detail for a in audits] == ["Lithium level 1.6 mmol/L"]
    messages = [re.sub(r"\\(.)", r"\1", element.value) for element in app.success]
    assert any("Lithium level for" in m and "1.6 mmol/L" in m and "a flag was raised" in m for m in messages)
    # The resulted order left the queue, so it cannot be saved a second time from this page.
    assert any("No pending lab orders" in element.value for element in app.success)
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(LabResult)) == 1
