"""The nurse's FHIR self-report upload form, driven through its page: a file is uploaded and imported as a user would.

(AppTest drives st.file_uploader, so no browser is needed.) tests/app/test_fhir_pages.py only checks that the
page renders; this file checks what an import writes and shows.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from db.engine import utcnow
from db.models import Assessment, Flag
from tests.app.conftest import PROJECT_ROOT, audit_rows, log_in, new_app, rows, shown
from tests.db.test_fhir_import import phq9_observation
from tests.factories import make_patient, make_team, make_user

UPLOAD = str(PROJECT_ROOT / "pages/nurse/fhir_import.py")


@pytest.fixture
def team_patient(engine: Engine) -> dict:
    team = make_team(engine)
    nurse = make_user(engine, "nurse", team_id=team, username="rn_upload")
    prescriber = make_user(engine, "prescriber", team_id=team)
    patient = make_patient(engine, prescriber=prescriber, nurse=nurse, mrn="MRN-UP")
    return dict(nurse=nurse, patient=patient)


def _file() -> bytes:
    """NDJSON from the patient portal: one report for our patient (item 9 answered 1), one for an unknown MRN."""
    when = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ours = phq9_observation("MRN-UP", [2, 2, 1, 1, 1, 1, 1, 1, 1], "portal-up-1", when=when)
    unknown = phq9_observation("MRN-NOBODY", [0] * 9, "portal-nobody-1", when=when)
    return (json.dumps(ours) + "\n" + json.dumps(unknown) + "\n").encode()


def _upload_and_import() -> AppTest:
    app = log_in(new_app(), "rn_upload").switch_page(UPLOAD).run()
    assert not app.exception, app.exception
    assert not [button for button in app.button if button.key == "fhir_self_reports_import"]  # no file yet
    app.file_uploader(key="fhir_self_reports").upload("reports.ndjson", _file(), "application/x-ndjson").run()
    return app.button(key="fhir_self_reports_import").click().run()


def test_importing_a_self_report_file_stores_each_report_once_with_its_audit_events(
    engine: Engine, team_patient: dict
) -> None:
    app = _upload_and_import()

    assert not app.exception, app.exception
    assert shown(app.success) == ["1 imported, 0 amended, 0 retracted, 0 duplicate, 1 rejected"]
    assert shown(app.error) == ["1 report(s) raised an URGENT flag: see the triage queue now."]
    results = app.dataframe[0].value
    assert results[["MRN", "Result"]].values.tolist() == [["MRN-UP", "imported"], ["MRN-NOBODY", "rejected"]]
    assessments = rows(engine, Assessment)
    assert [(a.patient_id, a.instrument, a.total, a.source, a.external_id) for a in assessments] == [
        (team_patient["patient"], "PHQ-9", 11, "self-report", "https://portal.example.org/reports|portal-up-1")
    ]
    assert assessments[0].entered_by_id == team_patient["nurse"].user_id
    per_report = audit_rows(engine, "import_self_report")
    assert [(e.patient_id, e.record_id, e.outcome, e.user_id) for e in per_report] == [
        (team_patient["patient"], str(assessments[0].id), "success", team_patient["nurse"].user_id)
    ]
    per_file = audit_rows(engine, "import_self_reports")
    assert [(e.patient_id, e.outcome, e.detail) for e in per_file] == [
        (None, "success", "1 imported, 0 amended, 0 retracted, 0 duplicate, 1 rejected")
    ]
    flags = rows(engine, Flag)
    assert [(f.patient_id, f.kind, f.severity) for f in flags] == [(team_patient["patient"], "self_harm", "urgent")]
    assert len(audit_rows(engine, "flag_raised")) == 1


def test_a_second_click_on_import_stores_nothing_twice(engine: Engine, team_patient: dict) -> None:
    app = _upload_and_import()
    assert len(rows(engine, Assessment)) == 1
    app.button(key="fhir_self_reports_import").click().run()  # the impatient second click, same file still chosen

    assert not app.exception, app.exception
    # The report is recognised as already imported: no second assessment, flag or per-report audit event.
    assert shown(app.success) == ["0 imported, 0 amended, 0 retracted, 1 duplicate, 1 rejected"]
    assert not app.error
    assert len(rows(engine, Assessment)) == 1
    assert len(rows(engine, Flag)) == 1
    assert len(audit_rows(engine, "import_self_report")) == 1
    assert len(audit_rows(engine, "flag_raised")) == 1
    # The second attempt is itself recorded, as an import of nothing new.
    assert [e.detail for e in audit_rows(engine, "import_self_reports")] == [
        "1 imported, 0 amended, 0 retracted, 0 duplicate, 1 rejected",
        "0 imported, 0 amended, 0 retracted, 1 duplicate, 1 rejected",
    ]


def test_a_file_that_is_not_fhir_imports_nothing_and_says_why(engine: Engine, team_patient: dict) -> None:
    app = log_in(new_app(), "rn_upload").switch_page(UPLOAD).run()
    app.file_uploader(key="fhir_self_reports").upload("reports.json", b'{"a": 1}', "application/json").run()
    app.button(key="fhir_self_reports_import").click().run()
    assert not app.exception, app.exception
    assert shown(app.error) == ["file: the file is JSON but not a FHIR resource (no resourceType)"]
    assert not app.success
    assert rows(engine, Assessment) == []
    assert audit_rows(engine, "import_self_reports") == [] and audit_rows(engine, "import_self_report") == []


def test_a_report_sent_again_as_entered_in_error_is_withdrawn_once_and_its_flag_closed(
    engine: Engine, team_patient: dict
) -> None:
    app = _upload_and_import()
    assert shown(app.error) == ["1 report(s) raised an URGENT flag: see the triage queue now."]
    when = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    withdrawn = {
        **phq9_observation("MRN-UP", [2, 2, 1, 1, 1, 1, 1, 1, 1], "portal-up-1", when=when),
        "status": "entered-in-error",
        "note": [{"text": "answered by a relative"}],
    }
    upload = (json.dumps(withdrawn) + "\n").encode()
    app.file_uploader(key="fhir_self_reports").upload("withdrawn.ndjson", upload, "application/x-ndjson").run()
    app.button(key="fhir_self_reports_import").click().run()

    assert not app.exception, app.exception
    assert shown(app.success) == ["0 imported, 0 amended, 1 retracted, 0 duplicate, 0 rejected"]
    assert not app.error  # closing an urgent flag is not a new alarm
    table = app.dataframe[0].value
    assert table[["Result", "MRN", "Total", "Flags"]].values.tolist() == [
        ["retracted", "MRN-UP", "11", "closed urgent self_harm"]
    ]
    (assessment,) = rows(engine, Assessment)
    assert assessment.retracted_at is not None and assessment.retracted_by_id == team_patient["nurse"].user_id
    assert assessment.retracted_reason.endswith(": answered by a relative")
    (flag,) = rows(engine, Flag)
    assert flag.state == "resolved" and flag.resolution_note.startswith("Closed: the report that raised it")
    (event,) = audit_rows(engine, "retract_self_report")
    assert (event.patient_id, event.record_id, event.user_id) == (
        team_patient["patient"],
        str(assessment.id),
        team_patient["nurse"].user_id,
    )

    app.button(key="fhir_self_reports_import").click().run()  # the same file again: nothing new is written
    assert shown(app.success) == ["0 imported, 0 amended, 0 retracted, 1 duplicate, 0 rejected"]
    assert len(audit_rows(engine, "retract_self_report")) == 1
    assert len(audit_rows(engine, "flag_resolve")) == 1


def test_the_import_page_offers_the_questionnaires_a_sender_builds_responses_from(
    engine: Engine, team_patient: dict
) -> None:
    from db.fhir.questionnaires import questionnaire_bundle_bytes

    app = log_in(new_app(), "rn_upload").switch_page(UPLOAD).run()
    assert not app.exception, app.exception
    labels = [button.proto.label for button in app.get("download_button")]
    assert labels == ["Download the PHQ-9 and GAD-7 Questionnaires (FHIR)"]
    # What the button serves (AppTest has no media store to fetch it from): the published definitions.
    bundle = json.loads(questionnaire_bundle_bytes())
    assert [entry["resource"]["url"] for entry in bundle["entry"]] == [
        "https://iop.example.org/fhir/Questionnaire/phq-9",
        "https://iop.example.org/fhir/Questionnaire/gad-7",
    ]
