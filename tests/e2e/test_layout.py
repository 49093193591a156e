"""Layout in a real browser (issue 15): the visit summary above the fold at 1440x900, no horizontal cut-off at
1024 px, and screenshots of each role's main pages at 1440 and 1024 px wide, light and dark, for people to look
at (test-artifacts/screenshots/, or SCREENSHOT_DIR)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.e2e.conftest import log_in, screenshot

pytestmark = pytest.mark.browser

FOLD = 900
MAIN_PAGES = {
    "prescriber": {"caseload": "Caseload", "chart": None, "refills": "Refill requests"},
    "nurse": {"triage": "Triage queue", "labs": "Labs"},
    "supervisor": {"overview": "Program overview", "audit": "Audit trail", "reassign": "Reassign patients"},
}
NARROW_PAGES = {"prescriber": ("caseload", "chart"), "nurse": ("triage",), "supervisor": ("overview",)}


@pytest.fixture(scope="module")
def busy_patient(e2e_database_url: str) -> str:
    """The demo prescriber's patient with the most open flags, given a pending refill request if the seed left
    none: every visit-summary item then has content to lay out, not just "none" (test data)."""
    import clinical
    from db.engine import make_engine, utcnow
    from db.models import Flag, Patient, Prescription, RefillRequest, User

    engine = make_engine(e2e_database_url)
    with engine.begin() as connection:
        prescriber = connection.execute(select(User.id).where(User.username == "prescriber")).scalar_one()
        open_flags = (
            select(func.count())
            .select_from(Flag)
            .where(Flag.patient_id == Patient.id, Flag.state != "resolved")
            .correlate(Patient)
            .scalar_subquery()
        )
        patient_id, mrn = connection.execute(
            select(Patient.id, Patient.mrn)
            .where(
                Patient.prescriber_id == prescriber,
                Patient.program_phase != "discharged",
                Patient.id.in_(select(Prescription.patient_id).where(Prescription.status == "active")),
            )
            .order_by(open_flags.desc(), Patient.mrn)
            .limit(1)
        ).one()
        pending = connection.execute(
            select(func.count()).where(RefillRequest.patient_id == patient_id, RefillRequest.status == "pending")
        ).scalar_one()
        prescriptions = connection.execute(
            select(Prescription.id, Prescription.drug).where(
                Prescription.patient_id == patient_id, Prescription.status == "active"
            )
        ).all()
        plain = [row for row in prescriptions if clinical.drug_schedule(row.drug) is None]
        if not pending and plain:
            connection.execute(
                RefillRequest.__table__.insert().values(
                    patient_id=patient_id,
                    prescription_id=plain[0].id,
                    requested_at=utcnow(),
                    source="pharmacy",
                    quantity=30,
                    days_supply=30,
                    status="pending",
                    version=1,
                )
            )
    engine.dispose()
    return str(mrn)


def _page_path(name: str, mrn: str) -> str:
    return f"/chart?patient={mrn}" if name == "chart" else f"/{name}"


def _wait_until_drawn(page, name: str, heading: str | None) -> None:  # type: ignore[no-untyped-def]
    if heading:
        page.get_by_role("heading", name=heading).filter(visible=True).first.wait_for()
    if name in ("chart", "overview"):
        page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg").first.wait_for()
    if name not in ("reassign",):
        page.locator("[data-testid='stDataFrame']").filter(visible=True).first.wait_for()
    # Streamlit's "running" indicator gone: the script run that draws the page has finished.
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden")
    page.wait_for_timeout(800)  # charts and grids paint after the run


def _bottom(locator) -> float:  # type: ignore[no-untyped-def]
    box = locator.bounding_box()
    assert box is not None, locator
    return box["y"] + box["height"]


def _top(locator) -> float:  # type: ignore[no-untyped-def]
    box = locator.bounding_box()
    assert box is not None, locator
    return box["y"]


def test_the_visit_summary_is_above_the_fold_at_1440x900_and_the_timeline_after_it(
    app_url: str, browser, busy_patient: str
) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1440, "height": FOLD})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        log_in(page, app_url, "prescriber")
        page.goto(f"{app_url}/chart?patient={busy_patient}")
        _wait_until_drawn(page, "chart", None)
        main = page.get_by_test_id("stMain")
        summary = main.locator(".st-key-visit_summary")
        caption = summary.get_by_test_id("stCaptionContainer")
        items = {
            "current medications": caption.filter(has_text="Current medications"),
            "medications with doses and since-when": summary.get_by_test_id("stText").filter(has_text="· since "),
            "PHQ-9 latest and change since last": summary.get_by_test_id("stMetric").filter(has_text="PHQ-9"),
            "GAD-7 latest and change since last": summary.get_by_test_id("stMetric").filter(has_text="GAD-7"),
            "change from baseline": caption.filter(has_text="change from baseline").last,
            "open flags": caption.filter(has_text="Open flags"),
            "allergies": caption.filter(has_text="Allergies"),
            "labs and vitals due": caption.filter(has_text="Labs and vitals due"),
            "pending refill requests": caption.filter(has_text="Pending refill requests"),
            "next visit due": caption.filter(has_text="Next visit due"),
            "crisis plan": summary.get_by_role("button", name="Crisis plan"),
        }
        # Open flags, urgent first and with their owner, and the refill request lines are content, not labels.
        flag_lines = summary.get_by_test_id("stMarkdown").filter(has_text="owner:")
        if flag_lines.count():
            items["open flag lines with owner"] = flag_lines.last
        items["pending refill lines"] = summary.get_by_test_id("stText").filter(has_text="requested").first
        screenshot(page, "chart_above_the_fold_1440x900", full_page=False)
        bottoms = {name: _bottom(locator.first) for name, locator in items.items()}
        below = {name: bottom for name, bottom in bottoms.items() if bottom > FOLD}
        assert not below, f"below the fold at {FOLD} px: {below}"
        timeline = main.get_by_test_id("stVegaLiteChart").first
        assert _top(timeline) >= max(bottoms.values()), "the timeline comes after the visit summary"
    finally:
        context.close()


def _horizontal_overflow(page) -> dict:  # type: ignore[no-untyped-def]
    return page.evaluate(
        """() => {
            const root = document.documentElement;
            const width = window.innerWidth;
            const marks = Array.from(document.querySelectorAll(
                "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg, "
                + "[data-testid='stDataFrame'] canvas"))
                .map((el) => el.getBoundingClientRect())
                .filter((box) => box.width > 0)
                .map((box) => Math.round(box.right));
            return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, width, rights: marks};
        }"""
    )


def _truncated_labels(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Text in the main area cut off with an ellipsis (a widget label, a button, a metric label)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll("[data-testid='stMain'] *"))
            .filter((el) => el.offsetParent !== null && el.clientWidth > 0
                && getComputedStyle(el).textOverflow === "ellipsis" && el.scrollWidth > el.clientWidth + 1)
            .map((el) => el.textContent.trim())
            .filter((text) => text)"""
    )


@pytest.mark.parametrize("role", list(MAIN_PAGES))
def test_main_pages_fit_1024_px_and_screenshots_in_light_and_dark(
    app_url: str, browser, busy_patient: str, role: str
) -> None:  # type: ignore[no-untyped-def]
    """One login per role: each main page is checked at 1024x768 for horizontal cut-off (the page, every chart
    and grid within the viewport, no truncated filter label) and photographed at 1440 and 1024 px wide in the
    light and the dark theme (emulated system preference, which the app follows)."""
    context = browser.new_context(viewport={"width": 1024, "height": 768}, color_scheme="light")
    page = context.new_page()
    page.set_default_timeout(60_000)
    problems: list[str] = []
    try:
        log_in(page, app_url, role)
        for name, heading in MAIN_PAGES[role].items():
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                page.set_viewport_size({"width": 1024, "height": 768})
                page.goto(f"{app_url}{_page_path(name, busy_patient)}")
                _wait_until_drawn(page, name, heading)
                if name in NARROW_PAGES[role]:
                    layout = _horizontal_overflow(page)
                    if layout["scrollWidth"] > layout["clientWidth"]:
                        problems.append(f"{name} {scheme}: the page scrolls sideways {layout}")
                    if any(right > layout["width"] for right in layout["rights"]):
                        problems.append(f"{name} {scheme}: a chart or grid is cut off {layout}")
                    truncated = _truncated_labels(page)
                    if truncated:
                        problems.append(f"{name} {scheme}: truncated labels {truncated}")
                # The same page resized (charts and grids follow their container), tall enough to show it all.
                for width in (1024, 1440):
                    page.set_viewport_size({"width": width, "height": 2000})
                    page.wait_for_timeout(700)
                    screenshot(page, f"{role}_{name}_{width}_{scheme}", full_page=False)
        assert not problems, "\n".join(problems)
    finally:
        context.close()
