"""Self-reports withdrawn by their sender (FHIR status entered-in-error): kept and marked, left out of every
reading of scores, and the flags they alone raised closed with a note (issue 17)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from components.visit_summary import score_summaries
from db.commands.fhir import import_self_reports
from db.commands.visits import previous_totals
from db.engine import read_session, utcnow
from db.models import Amendment, Assessment, AuditEvent, Flag, FlagEvent, PatientMeasureSummary
from db.queries.caseload import caseload
from db.queries.chart import chart_data
from db.queries.fhir import program_resources
from db.queries.program import outcomes, patient_metrics
from db.queries.queues import refill_queue
from tests.db.test_fhir_import import ndjson, phq9_observation, phq9_response
from tests.factories import make_patient, make_refill_request, make_team, make_user


@pytest.fixture
def team(engine: Engine) -> dict:
    team = make_team(engine)
    nurse = make_user(engine, "nurse", team_id=team)
    prescriber = make_user(engine, "prescriber", team_id=team)
    supervisor = make_user(engine, "supervisor", team_id=team)
    ours = make_patient(engine, prescriber=prescriber, nurse=nurse, mrn="MRN-OURS")
    other = make_patient(engine, prescriber=prescriber, nurse=nurse, mrn="MRN-OTHER")
    return dict(nurse=nurse, prescriber=prescriber, supervisor=supervisor, ours=ours, other=other)


def _at(days_ago: float) -> str:
    return (utcnow() - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _withdrawn(resource: dict, *, note: str | None = None) -> dict:
    """The same resource sent again with status entered-in-error (as a portal does)."""
    sent = {**resource, "status": "entered-in-error"}
    if note:
        sent["note"] = [{"text": note}]
    return sent


def _rows(engine: Engine, model: type) -> list:
    with read_session(engine) as session:
        return list(session.scalars(select(model).order_by(model.id)))


def _actions(engine: Engine) -> list[str]:
    with read_session(engine) as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


@pytest.mark.parametrize("kind", ["Observation", "QuestionnaireResponse"])
def test_a_report_entered_in_error_is_kept_marked_and_closes_the_flag_it_alone_raised(
    engine: Engine, team: dict, kind: str
) -> None:
    nurse = team["nurse"]
    answers = [1, 1, 1, 1, 1, 1, 1, 1, 2]
    report = (
        phq9_observation("MRN-OURS", answers, "r-err", when=_at(2))
        if kind == "Observation"
        else phq9_response("MRN-OURS", answers, "r-err", authored=_at(2))
    )
    (imported,) = import_self_reports(nurse, json.dumps(report))
    assert (imported.status, imported.flags) == ("imported", "urgent self_harm")

    # An Observation may say why (note); a QuestionnaireResponse has no element for it.
    note = "sent for the wrong patient" if kind == "Observation" else None
    (result,) = import_self_reports(nurse, json.dumps(_withdrawn(report, note=note)))

    assert (result.status, result.mrn, result.instrument, result.total) == ("retracted", "MRN-OURS", "PHQ-9", 10)
    assert result.flags == "closed urgent self_harm"
    (stored,) = _rows(engine, Assessment)
    assert stored.retracted_at is not None and stored.retracted_by_id == nurse.user_id
    assert stored.retracted_reason == "entered in error (FHIR status entered-in-error from the sender)" + (
        ": sent for the wrong patient" if note else ""
    )
    assert (stored.total, stored.answers) == (10, answers)  # kept as it was
    (amendment,) = _rows(engine, Amendment)
    assert (amendment.target_id, amendment.field, amendment.old_value, amendment.new_value) == (
        stored.id,
        "status",
        "current",
        "entered-in-error",
    )
    (flag,) = _rows(engine, Flag)
    assert (flag.state, flag.is_open) == ("resolved", None)
    assert flag.resolution_note.startswith("Closed: the report that raised it was entered in error (PHQ-9 of ")
    events = [(e.action, e.note) for e in _rows(engine, FlagEvent)]
    assert [action for action, _ in events] == ["raised", "resolve"]
    assert events[1][1] == flag.resolution_note
    actions = _actions(engine)
    assert actions.count("retract_self_report") == 1 and actions.count("flag_resolve") == 1
    with read_session(engine) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "retract_self_report")).one()
    assert (event.patient_id, event.record_id, event.user_id) == (team["ours"], str(stored.id), nurse.user_id)
    assert "1 flags closed, 0 kept open" in event.detail

    # A second retraction changes nothing and writes nothing but the file's own audit line.
    before = (len(_rows(engine, Amendment)), len(_rows(engine, FlagEvent)), len(_actions(engine)))
    (again,) = import_self_reports(nurse, json.dumps(_withdrawn(report)))
    assert again.status == "duplicate" and "already withdrawn as entered in error" in again.detail
    assert (len(_rows(engine, Amendment)), len(_rows(engine, FlagEvent)), len(_actions(engine))) == (
        before[0],
        before[1],
        before[2] + 1,
    )
    assert _actions(engine)[-1] == "import_self_reports"
    assert _rows(engine, Assessment)[0].retracted_at == stored.retracted_at


def test_a_flag_with_another_finding_stays_open_with_a_note_until_every_finding_is_withdrawn(
    engine: Engine, team: dict
) -> None:
    nurse = team["nurse"]
    first = phq9_observation("MRN-OURS", [0] * 8 + [1], "first", when=_at(9))
    second = phq9_observation("MRN-OURS", [0] * 8 + [2], "second", when=_at(2))
    assert [r.status for r in import_self_reports(nurse, ndjson(first, second))] == ["imported", "imported"]
    (flag,) = _rows(engine, Flag)
    assert flag.finding_count == 2

    (result,) = import_self_reports(nurse, json.dumps(_withdrawn(second)))

    assert (result.status, result.flags) == ("retracted", "urgent self_harm kept open (other findings)")
    (flag,) = _rows(engine, Flag)
    assert flag.state == "open" and flag.is_open
    last = _rows(engine, FlagEvent)[-1]
    assert last.action == "finding_withdrawn" and "stays open for its other findings" in last.note
    assert "flag_finding_withdrawn" in _actions(engine)

    (result,) = import_self_reports(nurse, json.dumps(_withdrawn(first)))
    assert (result.status, result.flags) == ("retracted", "closed urgent self_harm")
    assert _rows(engine, Flag)[0].state == "resolved"


def test_a_withdrawal_names_a_stored_report_of_that_patient_or_is_rejected(engine: Engine, team: dict) -> None:
    nurse = team["nurse"]
    report = phq9_observation("MRN-OURS", [1] * 9, "kept", when=_at(3))
    import_self_reports(nurse, json.dumps(report))
    unknown = _withdrawn(phq9_observation("MRN-OURS", [1] * 9, "never-sent", when=_at(3)))
    other_patient = _withdrawn(phq9_observation("MRN-OTHER", [1] * 9, "kept", when=_at(3)))
    gad7 = _withdrawn(
        {**phq9_observation("MRN-OURS", [1] * 9, "kept", when=_at(3)), "code": {"coding": [
            {"system": "http://loinc.org", "code": "70274-6"}]}, "component": []}
    )
    no_identifier = _withdrawn({k: v for k, v in report.items() if k not in ("identifier", "id")})

    results = import_self_reports(nurse, ndjson(unknown, other_patient, gad7, no_identifier))

    assert [r.status for r in results] == ["rejected"] * 4
    assert results[0].detail == (
        "no stored report with identifier https://portal.example.org/reports|never-sent for MRN MRN-OURS in your "
        "scope: nothing to withdraw"
    )
    assert results[1].detail.startswith("no stored report with identifier https://portal.example.org/reports|kept")
    assert "is a PHQ-9, not a GAD-7" in results[2].detail
    assert "without an identifier" in results[3].detail
    (stored,) = _rows(engine, Assessment)
    assert stored.retracted_at is None
    assert "retract_self_report" not in _actions(engine)


def test_a_report_withdrawn_in_its_own_file_and_sent_again_later(engine: Engine, team: dict) -> None:
    nurse = team["nurse"]
    report = phq9_observation("MRN-OURS", [2] * 9, "oops", when=_at(1))

    results = import_self_reports(nurse, ndjson(_withdrawn(report), report))

    # The withdrawal is applied after the file's reports, whatever their order.
    assert [r.status for r in results] == ["retracted", "imported"]
    (stored,) = _rows(engine, Assessment)
    assert stored.retracted_at is not None
    assert [f.state for f in _rows(engine, Flag)] == ["resolved"]
    (same,) = import_self_reports(nurse, json.dumps(report))
    assert same.status == "duplicate" and "withdrawn by the sender as entered in error" in same.detail
    correction = {**phq9_observation("MRN-OURS", [1] * 9, "oops", when=_at(1)), "status": "corrected"}
    (changed,) = import_self_reports(nurse, json.dumps(correction))
    assert changed.status == "rejected" and "send a new report with a new identifier" in changed.detail
    assert len(_rows(engine, Assessment)) == 1


# --- Every reading of scores leaves out withdrawn reports and corrected (superseded) versions ---------------


@pytest.fixture
def scored(engine: Engine, team: dict) -> dict:
    """PHQ-9 of MRN-OURS: 21 forty days ago, corrected to 18; 3 five days ago, then withdrawn. Only 18 counts."""
    nurse = team["nurse"]
    base = phq9_observation("MRN-OURS", [3, 3, 3, 3, 3, 3, 3, 0, 0], "base", when=_at(40))
    corrected = {
        **phq9_observation("MRN-OURS", [3, 3, 3, 3, 3, 3, 0, 0, 0], "base", when=_at(40)),
        "status": "corrected",
    }
    late = phq9_observation("MRN-OURS", [1, 1, 1, 0, 0, 0, 0, 0, 0], "late", when=_at(5))
    results = import_self_reports(nurse, ndjson(base, late))
    results += import_self_reports(nurse, ndjson(corrected, _withdrawn(late)))
    assert [r.status for r in results] == ["imported", "imported", "amended", "retracted"]
    assert len(_rows(engine, Assessment)) == 3
    return team


def test_the_chart_and_its_visit_summary_show_only_the_current_score(engine: Engine, scored: dict) -> None:
    chart = chart_data(scored["prescriber"], scored["ours"])
    assert chart.assessments["total"].tolist() == [18]
    (summary,) = score_summaries(chart.assessments)
    assert (summary.latest, summary.baseline, summary.change_from_previous) == (18, 18, None)


def test_the_caseload_shows_the_current_score_as_the_latest(engine: Engine, scored: dict) -> None:
    table = caseload(scored["prescriber"])
    assert table.loc[table["patient_id"] == scored["ours"], "PHQ-9"].tolist() == [18]


def test_the_refill_queue_shows_the_current_score(engine: Engine, scored: dict) -> None:
    make_refill_request(engine, scored["ours"])
    table = refill_queue(scored["prescriber"])
    assert table["scores"].tolist() == ["PHQ-9 18"]


def test_outcomes_count_neither_a_withdrawn_nor_a_superseded_score(engine: Engine, scored: dict) -> None:
    with read_session(engine) as session:
        kept = session.get(PatientMeasureSummary, (scored["ours"], "PHQ-9"))
        assert (kept.baseline_total, kept.latest_total, kept.response, kept.remission) == (18, 18, False, False)
    table = outcomes(scored["supervisor"], min_baseline=10)
    # With the withdrawn 3 this patient would count as a response and a remission.
    assert (int(table["patients"].sum()), int(table["responses"].sum()), int(table["remissions"].sum())) == (1, 0, 0)


def test_the_overview_does_not_count_a_withdrawn_report_as_a_recent_phq9(engine: Engine, scored: dict) -> None:
    table = patient_metrics(scored["supervisor"])
    assert table.loc[table["patient_id"] == scored["ours"], "phq9_last_30_days"].tolist() == [0]


def test_a_new_score_is_compared_with_the_current_score(engine: Engine, scored: dict) -> None:
    with read_session(engine) as session:
        assert previous_totals(session, scored["ours"]) == {"PHQ-9": 18}


def test_the_export_carries_only_the_current_score(engine: Engine, scored: dict) -> None:
    phq9_total = "44261-6"  # the export also writes one Observation per item; the total is the score
    totals = [
        r
        for _, resources in program_resources(None)
        for r in resources
        if r["resourceType"] == "Observation" and any(c["code"] == phq9_total for c in r["code"]["coding"])
    ]
    assert [(r["valueInteger"], r["status"]) for r in totals] == [(18, "amended")]
