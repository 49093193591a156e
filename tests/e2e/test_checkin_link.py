"""A patient's check-in link, end to end in Chromium: the prescriber sends it from the chart, the patient answers
on a phone-sized screen (390x844) without logging in and, with PHQ-9 item 9 above 0, sees the crisis line at
once; the score is on the chart, the urgent flag in the nurse's triage queue, and the link refuses a second use."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import and_, exists, select

from db.engine import make_engine, read_session
from db.models import Flag, Patient, User
from db.queries.caseload import program_today
from tests.e2e.conftest import answer_question, log_in, screenshot

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PHQ9_LABELS = [
    "Little interest or pleasure in doing things",
    "Feeling down, depressed or hopeless",
    "Trouble with sleep (falling or staying asleep, or sleeping too much)",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself, or like a failure",
    "Trouble concentrating",
    "Moving or speaking slowly, or being fidgety or restless",
    "Thoughts that you would be better off dead, or of hurting yourself",
]
GAD7_LABELS = [
    "Feeling nervous, anxious or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid as if something awful might happen",
]


def _patient_of_prescriber_and_nurse(database_url: str) -> str:
    """A patient of `prescriber` on `nurse`'s team with no open self-harm flag, so the check-in raises a new one."""
    engine = make_engine(database_url)
    with read_session(engine) as session:
        prescriber = session.scalars(select(User).where(User.username == "prescriber")).one()
        nurse = session.scalars(select(User).where(User.username == "nurse")).one()
        open_self_harm = exists().where(
            and_(Flag.patient_id == Patient.id, Flag.kind == "self_harm", Flag.resolved_at.is_(None))
        )
        mrn = session.scalar(
            select(Patient.mrn)
            .where(
                Patient.prescriber_id == prescriber.id,
                Patient.team_id == nurse.team_id,
                Patient.program_phase != "discharged",
                ~open_self_harm,
            )
            .order_by(Patient.id)
            .limit(1)
        )
    engine.dispose()
    assert mrn, "the demo data has no suitable patient"
    return str(mrn)


def test_patient_answers_on_a_phone_and_the_care_team_sees_score_and_urgent_flag(  # type: ignore[no-untyped-def]
    app_url: str, e2e_database_url: str, new_page, browser
) -> None:
    mrn = _patient_of_prescriber_and_nurse(e2e_database_url)
    prescriber = new_page()
    log_in(prescriber, app_url, "prescriber")
    prescriber.get_by_role("heading", name="Caseload").filter(visible=True).first.wait_for()
    prescriber.goto(f"{app_url}/chart?patient={mrn}")
    prescriber.get_by_text("Send a check-in link").filter(visible=True).first.click()
    prescriber.get_by_role("button", name="Create check-in link").filter(visible=True).first.click()
    prescriber.get_by_text(re.compile(r"^Check-in link created: it works once")).filter(visible=True).first.wait_for()
    prescriber.get_by_role("img", name=re.compile("Scan to open the check-in")).or_(
        prescriber.get_by_text("Scan to open the check-in")
    ).first.wait_for()
    shown_link = prescriber.locator("[data-testid='stCode']").filter(visible=True).first.inner_text()
    token = re.search(r"\?checkin=([A-Za-z0-9_-]{43,})", shown_link).group(1)  # type: ignore[union-attr]
    screenshot(prescriber, "checkin_link_sent")

    # The patient's phone: a fresh browser with no login cookie, 390x844.
    phone_context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        phone = phone_context.new_page()
        phone.set_default_timeout(60_000)
        phone.goto(f"{app_url}/?checkin={token}")
        phone.get_by_role("heading", name="Check-in from your care team").first.wait_for()
        assert phone.get_by_text(mrn).count() == 0
        assert phone.get_by_role("textbox", name="Username").count() == 0
        assert phone.locator("[data-testid='stSidebar']").count() == 0
        phone.get_by_text(re.compile("call or text 988")).first.wait_for()  # under item 9, before any answer
        for number, label in enumerate(PHQ9_LABELS, start=1):
            answer_question(phone, f"{number}. {label}", "Several days")
        for number, label in enumerate(GAD7_LABELS, start=1):
            answer_question(phone, f"{number}. {label}", "Not at all")
        phone.get_by_role("spinbutton", name=re.compile("How many doses")).fill("0")
        # Phone friendly: the whole form fits the screen's width (no sideways scrolling).
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(phone, "checkin_phone_form")
        phone.get_by_role("button", name="Send my answers").click()
        phone.get_by_text("988 Suicide & Crisis Lifeline").first.wait_for()
        phone.get_by_text("Thank you. Your answers were sent to your care team.").first.wait_for()
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(phone, "checkin_phone_crisis_line")

        # The link works once: opened again, it says so and shows no questions.
        phone.goto(f"{app_url}/?checkin={token}")
        phone.get_by_text(re.compile("This link has already been used")).first.wait_for()
        assert phone.get_by_role("button", name="Send my answers").count() == 0
        screenshot(phone, "checkin_phone_second_use")
    finally:
        phone_context.close()

    prescriber.goto(f"{app_url}/chart?patient={mrn}")
    prescriber.get_by_text(re.compile(r"^URGENT self harm \(open\)")).filter(visible=True).first.wait_for()
    metric = prescriber.locator("[data-testid='stMetric']", has_text="PHQ-9 · mild")
    metric.filter(visible=True).first.wait_for()
    assert "9" in metric.first.locator("[data-testid='stMetricValue']").inner_text()
    # The score's date is in the caption under it: today's self-report is the latest PHQ-9.
    prescriber.get_by_text(re.compile(rf"^on {program_today()} · baseline")).filter(visible=True).first.wait_for()
    prescriber.get_by_text("Patient check-in: answered through a link").filter(visible=True).first.wait_for()
    screenshot(prescriber, "checkin_chart_after_answers")

    nurse = new_page()
    log_in(nurse, app_url, "nurse")
    nurse.get_by_role("heading", name="Triage queue").filter(visible=True).first.wait_for()
    nurse.get_by_text(re.compile(rf"URGENT.*\({mrn}\) · self harm · open")).filter(visible=True).first.wait_for()
    screenshot(nurse, "checkin_triage_urgent_flag")
