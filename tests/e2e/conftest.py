"""Browser tests: the app started as the README starts it, on a fresh database with demo data, driven by
Debian's Chromium through Playwright (never a downloaded browser). Screenshots go to test-artifacts/screenshots/
(git-ignored), or to the folder named by SCREENSHOT_DIR."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.app_process import CHROMIUM, free_port, wait_for_health
from scripts.app_process import CHROMIUM_ARGS as BASE_CHROMIUM_ARGS

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Test artifacts (timings, screenshots) go to test-artifacts/ (git-ignored) unless CI names another folder.
ARTIFACTS = Path(os.environ.get("CI_ARTIFACTS_DIR") or PROJECT_ROOT / "test-artifacts")
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR") or ARTIFACTS / "screenshots")
CHROMIUM_ARGS = [*BASE_CHROMIUM_ARGS, "--disable-quic"]
DEMO_PASSWORD = "demo-iop-2026"

pytestmark = pytest.mark.browser


def start_app(
    database_url: str,
    port: int,
    log_path: Path,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """Start the app exactly as `make run` does (scripts.run_app: secrets, migrations, demo data)."""
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    log = log_path.open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "scripts.run_app", "--port", str(port), "--address", "127.0.0.1"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture(scope="session")
def e2e_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'e2e.db'}"


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory, e2e_database_url: str) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (CI installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    workdir = tmp_path_factory.mktemp("e2e")
    port = free_port()
    process = start_app(e2e_database_url, port, workdir / "app.log")
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base_url, process)
    except Exception:
        process.terminate()
        print((workdir / "app.log").read_text()[-4000:])
        raise
    _ensure_pending_refills(e2e_database_url)
    yield base_url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def _ensure_pending_refills(database_url: str, per_prescriber: int = 4) -> None:
    """Several browser tests decide or read refill requests of the demo caseloads; how many the seed leaves
    pending depends on its random draw, so each demo prescriber gets at least ``per_prescriber`` pending
    requests for active, non-controlled program prescriptions (test data, written before any test runs)."""
    from sqlalchemy import func, select

    import clinical
    from db.engine import make_engine, utcnow
    from db.models import Patient, Prescription, RefillRequest, User

    engine = make_engine(database_url)
    with engine.begin() as connection:
        prescribers = connection.execute(select(User.id).where(User.role == "prescriber")).scalars().all()
        for prescriber_id in prescribers:
            pending = connection.execute(
                select(func.count())
                .select_from(RefillRequest)
                .join(Patient, Patient.id == RefillRequest.patient_id)
                .where(Patient.prescriber_id == prescriber_id, RefillRequest.status == "pending")
            ).scalar_one()
            candidates = connection.execute(
                select(Prescription.id, Prescription.patient_id, Prescription.drug)
                .join(Patient, Patient.id == Prescription.patient_id)
                .where(
                    Patient.prescriber_id == prescriber_id,
                    Patient.program_phase != "discharged",
                    Prescription.status == "active",
                    Prescription.is_psychiatric.is_(True),
                    ~Prescription.id.in_(
                        select(RefillRequest.prescription_id).where(RefillRequest.status == "pending")
                    ),
                )
                .order_by(Prescription.id)
            ).all()
            plain = [row for row in candidates if clinical.drug_schedule(row.drug) is None]
            for row in plain[: max(0, per_prescriber - pending)]:
                connection.execute(
                    RefillRequest.__table__.insert().values(
                        patient_id=row.patient_id,
                        prescription_id=row.id,
                        requested_at=utcnow(),
                        source="pharmacy",
                        quantity=30,
                        days_supply=30,
                        status="pending",
                        version=1,
                    )
                )
    engine.dispose()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright launches Debian's Chromium, headless, with the flags this machine needs."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (CI installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1440, "height": 1000}}


@pytest.fixture
def new_page(browser):  # type: ignore[no-untyped-def]
    """Pages in separate browser contexts (separate cookies), like two people on two machines."""
    contexts = []

    def _new_page():  # type: ignore[no-untyped-def]
        context = browser.new_context(viewport={"width": 1440, "height": 2400})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(60_000)  # generous: CI machines are shared and slow
        return page

    yield _new_page
    for context in contexts:
        context.close()


def screenshot(page, name: str, *, full_page: bool = True) -> Path:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def log_in(page, base_url: str, username: str, password: str = DEMO_PASSWORD) -> None:  # type: ignore[no-untyped-def]
    """Log in as a user would and wait for the login cookie, which a component sets after the page renders.

    On a server that has just started, the very first login's cookie component sometimes never reaches the
    browser (the session is open, only a reload would ask again): a user would log in again, and so does this
    helper, once. A second miss fails the test."""
    for _attempt in range(2):
        page.goto(base_url)
        page.get_by_role("textbox", name="Username").filter(visible=True).first.fill(username)
        page.get_by_role("textbox", name="Password").filter(visible=True).first.fill(password)
        page.get_by_role("button", name="Log in").filter(visible=True).first.click()
        # Wait for the cookie before any navigation, as a user's next click would.
        for _ in range(120):
            if any(cookie["name"] == "iop_dashboard_login" for cookie in page.context.cookies()):
                return
            page.wait_for_timeout(250)
    raise AssertionError("the login cookie was never set")


__all__ = ["log_in", "screenshot"]


def answer_question(page, question: str, answer: str) -> None:  # type: ignore[no-untyped-def]
    """Click one answer of a questionnaire item (a radio group named by the question), as a user would."""
    group = page.get_by_role("radiogroup", name=question).filter(visible=True).first
    group.get_by_text(answer, exact=True).click()
