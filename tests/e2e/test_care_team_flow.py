"""Prescriber and nurse at the same time, each in their own browser context (own cookies), on one database:
an urgent flag raised in a visit reaches the nurse's open triage page without a reload, and what the nurse does
is what the prescriber then sees; a refill the prescriber approves shows as decided to the nurse."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import and_, exists, select

from db.auth import actor_for
from db.engine import make_engine, read_session
from db.models import Flag, Patient, User
from db.queries.queues import refill_queue
from tests.e2e.conftest import answer_question, log_in, screenshot

pytestmark = pytest.mark.browser

GRID_CELLS = "[data-testid='stDataFrame'] td"


def _users(session, *usernames: str) -> list[User]:  # type: ignore[no-untyped-def]
    return [session.scalars(select(User).where(User.username == name)).one() for name in usernames]


def _patient_without_open_self_harm_flag(database_url: str) -> str:
    """A patient of `prescriber` on `nurse`'s team with no open self-harm flag, so the visit raises a new one."""
    engine = make_engine(database_url)
    with read_session(engine) as session:
        prescriber, nurse = _users(session, "prescriber", "nurse")
        open_self_harm = exists().where(
            and_(Flag.patient_id == Patient.id, Flag.kind == "self_harm", Flag.resolved_at.is_(None))
        )
        mrn = session.scalar(
            select(Patient.mrn)
            .where(
                Patient.prescriber_id == prescriber.id,
                Patient.team_id == nurse.team_id,
                Patient.discharge_date.is_(None),
                ~open_self_harm,
            )
            .order_by(Patient.id.desc())
            .limit(1)
        )
    engine.dispose()
    assert mrn, "the demo data has no suitable patient"
    return str(mrn)


def test_urgent_flag_reaches_the_nurse_live_and_the_prescriber_sees_it_acknowledged(  # type: ignore[no-untyped-def]
    app_url: str, e2e_database_url: str, new_page
) -> None:
    mrn = _patient_without_open_self_harm_flag(e2e_database_url)
    engine = make_engine(e2e_database_url)
    with read_session(engine) as session:
        (nurse_user,) = _users(session, "nurse")
        nurse_name = nurse_user.full_name
    engine.dispose()

    nurse = new_page()
    log_in(nurse, app_url, "nurse")
    nurse.get_by_role("heading", name="Triage queue").filter(visible=True).first.wait_for()
    nurse.get_by_role("heading", name="Act on a flag").filter(visible=True).first.wait_for()
    assert nurse.get_by_text(re.compile(rf"URGENT.*\({mrn}\) · self harm")).count() == 0

    prescriber = new_page()
    log_in(prescriber, app_url, "prescriber")
    prescriber.get_by_role("heading", name="Caseload").filter(visible=True).first.wait_for()
    prescriber.goto(f"{app_url}/chart?patient={mrn}")
    prescriber.get_by_text("Log a visit").filter(visible=True).first.click()
    prescriber.get_by_text("GAD-7 administered").filter(visible=True).first.click()  # untick: PHQ-9 only
    labels = [
        "Little interest or pleasure in doing things",
        "Feeling down, depressed or hopeless",
        "Trouble with sleep (falling or staying asleep, or sleeping too much)",
        "Feeling tired or having little energy",
        "Poor appetite or overeating",
        "Feeling bad about yourself, or like a failure",
        "Trouble concentrating",
        "Moving or speaking slowly, or being fidgety or restless",
    ]
    for number, label in enumerate(labels, start=1):
        answer_question(prescriber, f"{number}. {label}", "1 · Several days")
    item_9 = "9. Thoughts that you would be better off dead, or of hurting yourself"
    answer_question(prescriber, item_9, "1 · Several days")
    prescriber.get_by_role("textbox", name="Assessment").filter(visible=True).first.fill(
        "Passive thoughts of death this week; no plan or intent. Safety plan reviewed."
    )
    prescriber.get_by_role("button", name="Save visit").filter(visible=True).first.click()
    # The scored outcome is shown where the form stood (and as a toast): the positive item 9 and the new flag.
    prescriber.get_by_text(
        re.compile(r"Visit saved: PHQ-9 9 \(mild\).* with item 9 positive\..* New urgent flag: self harm\.")
    ).filter(visible=True).first.wait_for()
    prescriber.get_by_text(re.compile(r"^URGENT self harm \(open\)")).filter(visible=True).first.wait_for()

    # The nurse never reloads: the queue refreshes itself (every 15 s) and shows the new urgent flag.
    urgent_line = nurse.get_by_text(re.compile(rf"URGENT.*\({mrn}\) · self harm · open · .* · owner: none$"))
    urgent_line.filter(visible=True).first.wait_for(timeout=45_000)
    screenshot(nurse, "triage_new_urgent_flag")

    flag_picker = nurse.get_by_role("combobox").filter(visible=True).first
    flag_picker.click()
    nurse.get_by_role("option", name=re.compile(rf"\[urgent\] .*\({mrn}\) · self harm")).click()
    nurse.get_by_text("Take ownership", exact=True).filter(visible=True).first.click()
    nurse.get_by_role("button", name="Save", exact=True).filter(visible=True).first.click()
    nurse.get_by_text(re.compile(r"^Take ownership: done for ")).filter(visible=True).first.wait_for()
    nurse.get_by_text(
        re.compile(rf"URGENT.*\({mrn}\) · self harm · open · .* · owner: {re.escape(nurse_name)}$")
    ).filter(visible=True).first.wait_for()

    nurse.get_by_text("Acknowledge", exact=True).filter(visible=True).first.click()
    nurse.get_by_role("textbox", name=re.compile("^Note")).filter(visible=True).first.fill(
        "Called the patient: safe, safety plan in place; prescriber informed."
    )
    nurse.get_by_role("button", name="Save", exact=True).filter(visible=True).first.click()
    nurse.get_by_text(re.compile(r"^Acknowledge: done for ")).filter(visible=True).first.wait_for()

    prescriber.reload()
    prescriber.get_by_text(re.compile(r"^URGENT self harm \(acknowledged\)")).filter(visible=True).first.wait_for()
    screenshot(prescriber, "chart_flag_acknowledged")


def test_refill_approved_by_the_prescriber_shows_decided_to_the_nurse(  # type: ignore[no-untyped-def]
    app_url: str, e2e_database_url: str, new_page
) -> None:
    engine = make_engine(e2e_database_url)
    with read_session(engine) as session:
        prescriber_user, nurse_user = _users(session, "prescriber", "nurse")
        prescriber_actor = actor_for(prescriber_user)
        nurse_team = nurse_user.team_id
        team_patients = set(session.scalars(select(Patient.id).where(Patient.team_id == nurse_team)))
    queue = refill_queue(prescriber_actor, engine=engine)
    engine.dispose()
    # A request nothing holds up: not early, not a controlled substance, no overdue monitoring lab.
    ready = queue[
        (queue["hold_reason"] == "")
        & (queue["schedule"].fillna("") == "")
        & (~queue["is_early"].astype(bool))
        & (queue["status"] == "pending")
        & (queue["patient_id"].isin(team_patients))
    ]
    assert not ready.empty, "the demo data has no refill request ready to approve"
    request = ready.iloc[0]
    reason = f"Stable on this dose; approved in the browser test {uuid.uuid4().hex[:6]}"

    prescriber = new_page()
    log_in(prescriber, app_url, "prescriber")
    prescriber.get_by_role("heading", name="Caseload").filter(visible=True).first.wait_for()
    prescriber.goto(f"{app_url}/refills")
    prescriber.get_by_role("heading", name="Decide a request").filter(visible=True).first.wait_for()
    picker = prescriber.get_by_role("combobox").filter(visible=True).first
    picker.click()
    prescriber.get_by_role(
        "option",
        name=re.compile(
            rf"\({request['mrn']}\) · {re.escape(str(request['drug']))} .* · qty {int(request['quantity'])}$"
        ),
    ).first.click()
    # Picking a request reruns the page and replaces the reason box (its key is per request): type once it stays.
    reason_box = prescriber.get_by_role("textbox", name=re.compile("^Reason")).filter(visible=True).first
    for _ in range(10):
        reason_box.fill(reason)
        prescriber.wait_for_timeout(700)
        if reason_box.input_value() == reason:
            break
    # No decision is preselected (a second click must not decide the next request unseen): choose "approve".
    prescriber.get_by_text("approve", exact=True).filter(visible=True).first.click()
    prescriber.wait_for_timeout(500)
    prescriber.get_by_role("button", name="Record decision").filter(visible=True).first.click()
    prescriber.get_by_text(re.compile(rf"\({request['mrn']}\): refill of .* approved\.")).filter(
        visible=True
    ).first.wait_for()

    nurse = new_page()
    log_in(nurse, app_url, "nurse")
    nurse.get_by_role("heading", name="Triage queue").filter(visible=True).first.wait_for()
    nurse.goto(f"{app_url}/chart?patient={request['mrn']}")
    nurse.get_by_role("radio", name="Refills", exact=True).filter(visible=True).first.click()
    # Data grids draw on a canvas; their accessible table carries the cell text.
    decided = nurse.locator(GRID_CELLS, has_text=reason)
    decided.first.wait_for(state="attached")
    row = decided.first.locator("xpath=..")
    assert "approved" in [cell.strip() for cell in row.locator("td").all_text_contents()]
    screenshot(nurse, "chart_refill_decided")


def test_deep_link_to_a_patient_outside_the_caseload_shows_not_permitted(  # type: ignore[no-untyped-def]
    app_url: str, e2e_database_url: str, new_page
) -> None:
    engine = make_engine(e2e_database_url)
    with read_session(engine) as session:
        (other,) = _users(session, "prescriber2")
        patient = session.scalars(select(Patient).where(Patient.prescriber_id == other.id).limit(1)).one()
        mrn, family_name = patient.mrn, patient.family_name
    engine.dispose()
    page = new_page()
    log_in(page, app_url, "prescriber")
    page.get_by_role("heading", name="Caseload").filter(visible=True).first.wait_for()
    page.goto(f"{app_url}/chart?patient={mrn}")
    page.get_by_text("Not permitted").filter(visible=True).first.wait_for()
    screenshot(page, "chart_not_permitted")
    assert page.get_by_text(family_name).count() == 0
    assert page.locator("[data-testid='stVegaLiteChart'], [data-testid='stDataFrame']").count() == 0
