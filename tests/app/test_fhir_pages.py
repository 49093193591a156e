"""FHIR in the app: the chart's bundle download button, and the nurse's self-report upload page."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.app.conftest import PROJECT_ROOT, log_in, new_app
from tests.factories import make_patient, make_team, make_user

CHART = str(PROJECT_ROOT / "pages/clinical/patient_chart.py")
UPLOAD = str(PROJECT_ROOT / "pages/nurse/fhir_import.py")


@pytest.fixture
def users(engine: Engine) -> None:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team, username="dr_fhir")
    nurse = make_user(engine, "nurse", team_id=team, username="rn_fhir")
    make_patient(engine, prescriber=prescriber, nurse=nurse, mrn="MRN-FHIR")


def test_the_chart_offers_an_audited_fhir_bundle_download(users: None) -> None:
    app = log_in(new_app(), "dr_fhir")
    app.query_params["patient"] = "MRN-FHIR"
    app = app.switch_page(CHART).run()
    assert not app.exception, app.exception
    buttons = app.get("download_button")
    assert any("FHIR R4 bundle" in button.proto.label for button in buttons)


def test_the_nurse_upload_page_renders_with_a_file_uploader(users: None) -> None:
    app = log_in(new_app(), "rn_fhir").switch_page(UPLOAD).run()
    assert not app.exception, app.exception
    assert [title.value for title in app.title] == ["Import self-reports (FHIR)"]
    assert app.get("file_uploader")


def test_the_bundle_is_built_and_audited_only_when_downloaded(engine: Engine, users: None) -> None:
    import json

    from sqlalchemy import func, select

    from components.fhir_export import bundle_bytes
    from db.auth import actor_for
    from db.engine import read_session
    from db.models import AuditEvent, Patient, User

    def exports() -> int:
        with read_session(engine) as session:
            return int(session.scalar(select(func.count()).where(AuditEvent.action == "export")) or 0)

    app = log_in(new_app(), "dr_fhir")
    app.query_params["patient"] = "MRN-FHIR"
    app.switch_page(CHART).run()
    assert exports() == 0, "viewing the chart must not build or disclose a bundle"
    with read_session(engine) as session:
        actor = actor_for(session.scalars(select(User).where(User.username == "dr_fhir")).one())
        patient_id = session.scalars(select(Patient.id).where(Patient.mrn == "MRN-FHIR")).one()
    bundle = json.loads(bundle_bytes(actor, patient_id))
    assert bundle["resourceType"] == "Bundle"
    assert exports() == 1


def _upload(app, name: str, content: bytes):  # type: ignore[no-untyped-def]
    app.file_uploader(key="fhir_self_reports").set_value((name, content, "application/json"))
    app = app.run()
    app.button(key="fhir_self_reports_import").click()
    return app.run()


def test_a_file_nested_too_deeply_is_refused_with_a_message_not_a_traceback(engine: Engine, users: None) -> None:
    from sqlalchemy import func, select

    from db.engine import read_session
    from db.models import Assessment

    app = log_in(new_app(), "rn_fhir").switch_page(UPLOAD).run()
    app = _upload(app, "deep.json", b"[" * 100_000 + b"]" * 100_000)

    assert not app.exception, app.exception
    assert any("nested more than 64 levels" in error.value for error in app.error), [e.value for e in app.error]
    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Assessment)) == 0


def test_a_corrected_self_report_uploaded_on_the_page_is_shown_as_amended_with_its_urgent_flag(
    engine: Engine, users: None
) -> None:
    import json

    from sqlalchemy import select

    from db.engine import read_session
    from db.models import Assessment, AuditEvent, Flag
    from tests.db.test_fhir_import import phq9_response

    original = phq9_response("MRN-FHIR", [1, 1, 0, 0, 0, 0, 0, 0, 0], "portal-7")
    corrected = phq9_response("MRN-FHIR", [1, 1, 0, 0, 0, 0, 0, 0, 2], "portal-7", status="amended")
    app = log_in(new_app(), "rn_fhir").switch_page(UPLOAD).run()
    app = _upload(app, "first.json", json.dumps(original).encode())
    assert [s.value for s in app.success] == ["1 imported, 0 amended, 0 retracted, 0 duplicate, 0 rejected"]

    app = _upload(app, "correction.json", json.dumps(corrected).encode())

    assert not app.exception, app.exception
    assert [s.value for s in app.success] == ["0 imported, 1 amended, 0 retracted, 0 duplicate, 0 rejected"]
    assert any("URGENT" in error.value for error in app.error)
    (table,) = [frame.value for frame in app.dataframe]
    assert table[["Result", "Total", "Flags"]].values.tolist() == [["amended", "4", "urgent self_harm"]]
    with read_session(engine) as session:
        versions = session.execute(select(Assessment.id, Assessment.supersedes_id).order_by(Assessment.id)).all()
        flags = session.scalars(select(Flag.kind)).all()
        events = session.scalars(select(AuditEvent.action).where(AuditEvent.action == "amend_self_report")).all()
    assert [supersedes for _, supersedes in versions] == [None, versions[0][0]]
    assert (flags, events) == (["self_harm"], ["amend_self_report"])
