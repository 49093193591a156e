"""The PHQ-9 and GAD-7 Questionnaires published with the export, the import's check of the Questionnaire a
response names, and the bulk manifest's absolute URLs and transactionTime (issue 17)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from sqlalchemy import Engine, select

import clinical
from clinical import interop
from db.commands.fhir import import_self_reports
from db.engine import read_session, utcnow
from db.fhir.bulk import export_ndjson
from db.fhir.questionnaires import published_questionnaires
from db.models import Assessment, AuditEvent
from db.settings import get_settings
from tests.factories import make_patient, make_team, make_user


@pytest.fixture(autouse=True)
def _settings_read_again_after_each_test() -> object:
    yield
    get_settings.cache_clear()  # the environment is restored by monkeypatch; the cached settings are not


def test_each_published_questionnaire_is_valid_r4_and_asks_what_the_import_reads() -> None:
    questionnaires = published_questionnaires()
    assert [q["url"] for q in questionnaires] == [
        "https://iop.example.org/fhir/Questionnaire/phq-9",
        "https://iop.example.org/fhir/Questionnaire/gad-7",
    ]
    for questionnaire, instrument in zip(questionnaires, ("PHQ-9", "GAD-7"), strict=True):
        Questionnaire.model_validate(questionnaire)
        info = clinical.instrument_info(instrument)
        items = [item for item in questionnaire["item"] if item["type"] != "display"]
        assert [item["linkId"] for item in items] == [*info.item_loinc, info.loinc_total]
        assert questionnaire["code"][0]["code"] == info.loinc_panel
        for item in items[:-1]:
            assert item["required"] and item["type"] == "choice"
            options = [(o["valueCoding"]["code"], o["extension"][0]["valueDecimal"]) for o in item["answerOption"]]
            assert options == [("LA6568-5", 0), ("LA6569-3", 1), ("LA6570-1", 2), ("LA6571-9", 3)]
        assert items[-1]["readOnly"] and items[-1]["type"] == "integer"
        assert interop.questionnaire_instrument(questionnaire["url"]) == instrument
        assert interop.questionnaire_instrument(f"{questionnaire['url']}|{questionnaire['version']}") == instrument


def _response_from(questionnaire: dict, scores: list[int], identifier: str, *, canonical: str | None = None) -> dict:
    """A QuestionnaireResponse built as a sender would: from the published Questionnaire's items and options."""
    answered = []
    choices = [item for item in questionnaire["item"] if item["type"] == "choice"]
    for item, score in zip(choices, scores, strict=True):
        option = next(o for o in item["answerOption"] if o["extension"][0]["valueDecimal"] == score)
        answered.append({"linkId": item["linkId"], "answer": [{"valueCoding": option["valueCoding"]}]})
    return {
        "resourceType": "QuestionnaireResponse",
        "identifier": {"system": "https://portal.example.org/reports", "value": identifier},
        "questionnaire": canonical if canonical is not None else f"{questionnaire['url']}|{questionnaire['version']}",
        "status": "completed",
        "subject": {"identifier": {"system": interop.MRN_SYSTEM, "value": "MRN-Q"}},
        "authored": (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "item": answered,
    }


def test_the_import_takes_responses_to_the_published_or_loinc_questionnaires_and_refuses_others(
    engine: Engine,
) -> None:
    team = make_team(engine)
    nurse = make_user(engine, "nurse", team_id=team)
    make_patient(engine, prescriber=make_user(engine, "prescriber", team_id=team), nurse=nurse, mrn="MRN-Q")
    phq9, gad7 = published_questionnaires()
    sent = [
        _response_from(phq9, [1, 1, 1, 1, 0, 0, 0, 0, 0], "q-1"),
        _response_from(gad7, [2, 2, 2, 0, 0, 0, 0], "q-2", canonical=gad7["url"]),  # no version: fine
        _response_from(phq9, [0] * 9, "q-3", canonical="http://loinc.org/q/44249-1"),
        {k: v for k, v in _response_from(phq9, [0] * 9, "q-4").items() if k != "questionnaire"},  # items decide
        _response_from(phq9, [0] * 9, "q-5", canonical=f"{phq9['url']}|0.9"),
        _response_from(phq9, [0] * 9, "q-6", canonical="https://forms.example.org/Questionnaire/mood-check"),
    ]

    results = import_self_reports(nurse, "\n".join(json.dumps(r) for r in sent))

    assert [(r.status, r.instrument, r.total) for r in results[:4]] == [
        ("imported", "PHQ-9", 4),
        ("imported", "GAD-7", 6),
        ("imported", "PHQ-9", 0),
        ("imported", "PHQ-9", 0),
    ]
    named_in_order = (f"{phq9['url']}|0.9", "https://forms.example.org/Questionnaire/mood-check")
    for refused, named in zip(results[4:], named_in_order, strict=True):
        assert refused.status == "rejected"
        assert refused.detail.startswith(f"questionnaire {named!r} is not one this program accepts")
        assert "Questionnaire.ndjson" in refused.detail
    with read_session(engine) as session:
        assert len(session.scalars(select(Assessment)).all()) == 4


@pytest.fixture
def one_patient(engine: Engine) -> Engine:
    make_patient(engine, prescriber=make_user(engine, "prescriber"), mrn="MRN-B")
    return engine


def test_the_manifest_gives_absolute_urls_from_the_configured_base_and_the_snapshot_time(
    one_patient: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FHIR_EXPORT_BASE_URL", "https://files.example.org/iop/2026-12-01/")
    get_settings.cache_clear()
    before = utcnow().replace(microsecond=0)

    counts = export_ndjson(None, tmp_path)

    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert list(manifest) == ["transactionTime", "request", "requiresAccessToken", "output", "error"]
    when = datetime.fromisoformat(manifest["transactionTime"].replace("Z", "+00:00")).replace(tzinfo=None)
    assert manifest["transactionTime"].endswith("Z") and before <= when <= utcnow()
    assert manifest["request"] == "https://files.example.org/iop/2026-12-01/$export"
    assert manifest["requiresAccessToken"] is False and manifest["error"] == []
    assert {item["type"]: (item["url"], item["count"]) for item in manifest["output"]} == {
        name: (f"https://files.example.org/iop/2026-12-01/{name}.ndjson", count) for name, count in counts.items()
    }
    written = [json.loads(line) for line in (tmp_path / "Questionnaire.ndjson").read_text().splitlines()]
    assert written == published_questionnaires() and counts["Questionnaire"] == 2
    with read_session(one_patient) as session:
        detail = session.scalars(select(AuditEvent.detail).where(AuditEvent.record_type == "fhir_bulk_ndjson")).one()
    assert "Questionnaire 2" in detail


def test_without_a_configured_base_the_urls_point_at_the_export_directory(
    one_patient: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FHIR_EXPORT_BASE_URL", raising=False)
    get_settings.cache_clear()
    export_ndjson(None, tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["output"][0]["url"] == f"{(tmp_path / 'out').resolve().as_uri()}/Patient.ndjson"
    # --base-url (the base_url argument) wins over the setting for one export.
    export_ndjson(None, tmp_path / "other", base_url="https://cdn.example.org/x")
    manifest = json.loads((tmp_path / "other" / "manifest.json").read_text())
    assert manifest["output"][0]["url"] == "https://cdn.example.org/x/Patient.ndjson"


def test_a_base_url_that_is_not_http_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FHIR_EXPORT_BASE_URL", "files/iop")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="FHIR_EXPORT_BASE_URL must be an absolute http"):
        get_settings()
    monkeypatch.delenv("FHIR_EXPORT_BASE_URL")
    get_settings.cache_clear()
