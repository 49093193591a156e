"""Hostile free text stored in the database renders as text in a real browser: no script runs, nothing injected."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from db.engine import make_engine, utcnow, write_session
from db.models import Patient, User, Visit
from tests.e2e.conftest import log_in, screenshot

pytestmark = pytest.mark.browser

HOSTILE = [
    "<script>window.__pwned = 1; alert('script')</script>",
    "<img src=x onerror=\"window.__pwned = 2; alert('img')\">",
    "[click me](javascript:alert('link'))",
    "![tracker](http://127.0.0.1:9/pixel.png)",
    "**bold?** <b id='injected-bold'>bold</b> <iframe id='injected-frame' src='about:blank'></iframe>",
]


def test_hostile_notes_and_crisis_plan_render_as_text(app_url: str, e2e_database_url: str, new_page) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(e2e_database_url)
    with write_session(engine) as session:
        prescriber_id = session.scalar(select(User.id).where(User.username == "prescriber"))
        patient = session.scalars(
            select(Patient).where(Patient.prescriber_id == prescriber_id).order_by(Patient.id)
        ).first()
        session.execute(update(Patient).where(Patient.id == patient.id).values(crisis_plan=" ".join(HOSTILE[:3])))
        session.add(
            Visit(
                patient_id=patient.id,
                clinician_id=prescriber_id,
                visit_at=utcnow(),
                modality="video",
                duration_minutes=20,
                assessment_note="\n".join(HOSTILE),
                plan_note=HOSTILE[1],
            )
        )
        mrn = patient.mrn
    engine.dispose()

    page = new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, app_url, "prescriber")
    page.get_by_role("heading", name="Caseload").filter(visible=True).first.wait_for()
    page.goto(f"{app_url}/chart?patient={mrn}")
    page.get_by_text("Crisis plan").filter(visible=True).first.wait_for()
    page.get_by_role("radio", name="Visits", exact=True).click()  # the chart section picker
    page.get_by_text(re.compile(r"· follow-up · video ·")).first.click()  # expand the newest visit
    page.get_by_text("[click me](javascript:alert('link'))").filter(visible=True).first.wait_for()
    page.wait_for_timeout(1000)
    screenshot(page, "hostile_text")
    assert dialogs == []
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#injected-bold, #injected-frame, img[src='x']").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    # Shown exactly as typed, as text.
    page.get_by_text("<script>window.__pwned = 1; alert('script')</script>", exact=False).filter(
        visible=True
    ).first.wait_for()
