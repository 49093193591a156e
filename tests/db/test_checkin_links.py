"""Check-in links: sending (permission, hash-only storage), expiry, revoking, single use under concurrent
submits, the audit trail of every use, and the flags a patient's answers raise (one path with a visit)."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select, text, update

from db.commands import InvalidInput
from db.commands.checkin import (
    CheckinAnswers,
    LinkRefused,
    PatientSideEffect,
    check_checkin_link,
    hash_token,
    open_checkin_link,
    revoke_checkin_link,
    send_checkin_link,
    submit_checkin,
)
from db.engine import read_session, utcnow, write_session
from db.models import (
    Assessment,
    AuditEvent,
    Flag,
    FormSubmission,
    Patient,
    PatientCheckinLink,
    Prescription,
    SideEffectReport,
)
from db.permissions import PermissionDenied
from db.queries.caseload import caseload
from db.queries.checkin import checkin_links
from tests.factories import make_patient, make_team, make_user

CALM_PHQ9 = [1, 1, 0, 1, 0, 0, 1, 0, 0]
SELF_HARM_PHQ9 = [2, 2, 1, 2, 1, 1, 1, 0, 2]
CALM_GAD7 = [1, 0, 1, 0, 0, 1, 0]


@pytest.fixture
def care_team(engine: Engine) -> dict:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team)
    nurse = make_user(engine, "nurse", team_id=team)
    patient = make_patient(engine, prescriber=prescriber, nurse=nurse)
    return dict(team=team, prescriber=prescriber, nurse=nurse, patient=patient)


def _answers(phq9: list[int] = CALM_PHQ9, **changes: object) -> CheckinAnswers:
    values: dict = dict(phq9=phq9, gad7=CALM_GAD7, side_effects=[], missed_doses=0)
    values.update(changes)
    return CheckinAnswers(**values)


def _audit(engine: Engine, action: str) -> list[AuditEvent]:
    with read_session(engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _link(engine: Engine, link_id: int) -> PatientCheckinLink:
    with read_session(engine) as session:
        return session.get(PatientCheckinLink, link_id)


def test_a_sent_link_is_stored_only_as_a_hash_and_audited(engine: Engine, care_team: dict) -> None:
    sent = send_checkin_link(care_team["nurse"], care_team["patient"], hours=48, submission="send-form-token-0001")

    assert len(sent.token) >= 43
    link = _link(engine, sent.link_id)
    assert link.token_hash == hash_token(sent.token) and link.patient_id == care_team["patient"]
    assert link.measures == ["PHQ-9", "GAD-7", "side_effects", "missed_doses"]
    assert timedelta(hours=47, minutes=59) < link.expires_at - link.created_at <= timedelta(hours=48)
    # The token itself is nowhere in the database: not the link, the audit trail or the form's claim.
    with engine.connect() as connection:
        for table in ("patient_checkin_links", "audit_events", "form_submissions"):
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                assert sent.token not in " ".join(str(value) for value in row), table
    [event] = _audit(engine, "send_checkin_link")
    assert (event.user_id, event.patient_id, event.record_id, event.outcome) == (
        care_team["nurse"].user_id,
        care_team["patient"],
        str(sent.link_id),
        "success",
    )
    with read_session(engine) as session:
        assert session.get(FormSubmission, "send-form-token-0001").record_id == sent.link_id


def test_default_validity_is_the_setting_and_bad_choices_are_refused(engine: Engine, care_team: dict) -> None:
    sent = send_checkin_link(care_team["prescriber"], care_team["patient"], measures=["PHQ-9"])
    link = _link(engine, sent.link_id)
    assert link.measures == ["PHQ-9"]
    assert timedelta(hours=71, minutes=59) < link.expires_at - link.created_at <= timedelta(hours=72)
    with pytest.raises(InvalidInput) as refused:
        send_checkin_link(care_team["prescriber"], care_team["patient"], measures=["PHQ-9", "C-SSRS"], hours=0)
    assert set(refused.value.errors) == {"measures", "valid for"}
    with read_session(engine) as session:
        assert len(session.scalars(select(PatientCheckinLink)).all()) == 1


def test_a_prescriber_outside_the_care_team_may_not_send_and_the_refusal_is_audited(
    engine: Engine, care_team: dict
) -> None:
    outsider = make_user(engine, "prescriber", team_id=make_team(engine))
    supervisor = make_user(engine, "supervisor")
    for actor in (outsider, supervisor):
        with pytest.raises(PermissionDenied):
            send_checkin_link(actor, care_team["patient"])
    with read_session(engine) as session:
        assert session.scalars(select(PatientCheckinLink)).all() == []
    refusals = _audit(engine, "send_checkin_link")
    assert [(e.user_id, e.outcome, e.patient_id) for e in refusals] == [
        (outsider.user_id, "denied", care_team["patient"]),
        (supervisor.user_id, "denied", care_team["patient"]),
    ]


def test_answers_are_stored_once_as_self_reports_and_the_link_then_refuses(engine: Engine, care_team: dict) -> None:
    sent = send_checkin_link(care_team["nurse"], care_team["patient"])
    opened = open_checkin_link(sent.token)
    assert opened.measures == ("PHQ-9", "GAD-7", "side_effects", "missed_doses")

    result = submit_checkin(sent.token, _answers(missed_doses=1))

    assert [(s.instrument, s.total) for s in result.scores] == [("PHQ-9", 4), ("GAD-7", 3)]
    assert not result.self_harm and result.flags == []
    with read_session(engine) as session:
        stored = session.scalars(select(Assessment).order_by(Assessment.instrument.desc())).all()
        assert [(a.instrument, a.total, a.source, a.answers, a.entered_by_id) for a in stored] == [
            ("PHQ-9", 4, "self-report", CALM_PHQ9, None),
            ("GAD-7", 3, "self-report", CALM_GAD7, None),
        ]
    link = _link(engine, sent.link_id)
    assert link.used_at is not None and link.opened_at is not None and link.missed_doses == 1
    [submitted] = _audit(engine, "checkin_submitted")
    assert (submitted.username, submitted.role, submitted.user_id, submitted.patient_id) == (
        "patient-link",
        "patient",
        None,
        care_team["patient"],
    )
    assert [e.username for e in _audit(engine, "checkin_link_opened")] == ["patient-link"]

    for attempt in (lambda: check_checkin_link(sent.token), lambda: open_checkin_link(sent.token)):
        with pytest.raises(LinkRefused) as refused:
            attempt()
        assert refused.value.reason == "used"
    with pytest.raises(LinkRefused, match="already been used"):
        submit_checkin(sent.token, _answers())
    with read_session(engine) as session:
        assert len(session.scalars(select(Assessment)).all()) == 2
    assert [e.detail for e in _audit(engine, "checkin_link_refused")] == ["open: used", "submit: used"]


def test_item_9_above_zero_raises_the_urgent_self_harm_flag_like_a_visit(engine: Engine, care_team: dict) -> None:
    with write_session(engine) as session:
        session.add(
            Prescription(
                patient_id=care_team["patient"], drug="sertraline", dose=100, unit="mg", frequency="once daily",
                daily_dose_mg=100, start_date=date(2026, 10, 1),
            )
        )  # fmt: skip
    sent = send_checkin_link(care_team["prescriber"], care_team["patient"])
    result = submit_checkin(
        sent.token,
        _answers(SELF_HARM_PHQ9, side_effects=[PatientSideEffect("bad nausea", "severe")], missed_doses=4),
    )
    assert result.self_harm
    assert sorted(result.flags) == [
        ("high", "severe_side_effect"),
        ("moderate", "missed_doses"),
        ("urgent", "self_harm"),
    ]
    with read_session(engine) as session:
        flags = {f.kind: f for f in session.scalars(select(Flag))}
        effect = session.scalars(select(SideEffectReport)).one()
    assert flags["self_harm"].severity == "urgent" and flags["self_harm"].state == "open"
    assert "item 9" in flags["self_harm"].summary
    assert (flags["missed_doses"].source_table, flags["missed_doses"].source_id) == (
        "patient_checkin_links",
        sent.link_id,
    )
    # The only psychiatric medicine takes the side effect the patient described without naming it.
    assert (effect.drug, effect.severity, effect.source) == ("sertraline", "severe", "self-report")
    raised = _audit(engine, "flag_raised")
    assert {e.username for e in raised} == {"patient-link"} and len(raised) == 3


def test_an_expired_or_revoked_link_refuses_and_says_why(engine: Engine, care_team: dict) -> None:
    expired = send_checkin_link(care_team["nurse"], care_team["patient"], hours=1)
    with write_session(engine) as session:
        session.execute(
            update(PatientCheckinLink)
            .where(PatientCheckinLink.id == expired.link_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    revoked = send_checkin_link(care_team["nurse"], care_team["patient"])
    revoke_checkin_link(care_team["prescriber"], revoked.link_id, submission="revoke-form-token-01")

    for sent, reason, words in ((expired, "expired", "has expired"), (revoked, "revoked", "withdrawn")):
        with pytest.raises(LinkRefused, match=words) as refused:
            open_checkin_link(sent.token)
        assert refused.value.reason == reason
        with pytest.raises(LinkRefused):
            submit_checkin(sent.token, _answers())
    with pytest.raises(LinkRefused) as unknown:
        submit_checkin("x" * 43, _answers())
    assert unknown.value.reason == "unknown"
    with read_session(engine) as session:
        assert session.scalars(select(Assessment)).all() == []
    assert _link(engine, revoked.link_id).revoked_by_id == care_team["prescriber"].user_id
    [revoke] = _audit(engine, "revoke_checkin_link")
    assert (revoke.user_id, revoke.record_id) == (care_team["prescriber"].user_id, str(revoked.link_id))
    refusals = [(e.detail, e.patient_id) for e in _audit(engine, "checkin_link_refused")]
    assert refusals == [
        ("open: expired", care_team["patient"]),
        ("submit: expired", care_team["patient"]),
        ("open: revoked", care_team["patient"]),
        ("submit: revoked", care_team["patient"]),
        ("submit: unknown", None),
    ]
    with pytest.raises(InvalidInput, match="already revoked"):
        revoke_checkin_link(care_team["prescriber"], revoked.link_id)


def test_a_link_closes_when_the_patient_is_discharged(engine: Engine, care_team: dict) -> None:
    sent = send_checkin_link(care_team["nurse"], care_team["patient"])
    with write_session(engine) as session:
        session.execute(update(Patient).where(Patient.id == care_team["patient"]).values(program_phase="discharged"))

    with pytest.raises(LinkRefused, match="no longer active") as refused:
        open_checkin_link(sent.token)
    assert refused.value.reason == "closed"
    with pytest.raises(LinkRefused):
        submit_checkin(sent.token, _answers(phq9=SELF_HARM_PHQ9))
    with read_session(engine) as session:
        assert session.scalars(select(Assessment)).all() == []
        assert session.scalars(select(Flag)).all() == []
    assert [e.detail for e in _audit(engine, "checkin_link_refused")] == ["open: closed", "submit: closed"]


def test_answers_must_match_the_measures_the_link_asks(engine: Engine, care_team: dict) -> None:
    sent = send_checkin_link(care_team["nurse"], care_team["patient"], measures=["PHQ-9"])
    with pytest.raises(InvalidInput) as refused:
        submit_checkin(sent.token, _answers(phq9=[1] * 8))
    assert set(refused.value.errors) == {"GAD-7 (anxiety)", "Missed doses (past week)", "PHQ-9"}
    assert _link(engine, sent.link_id).used_at is None  # nothing was spent: the patient can correct and send
    result = submit_checkin(sent.token, CheckinAnswers(phq9=CALM_PHQ9))
    assert [s.instrument for s in result.scores] == ["PHQ-9"]


@pytest.mark.parametrize("submitters", [2, 4])
def test_concurrent_submits_write_exactly_once(engine: Engine, care_team: dict, submitters: int) -> None:
    sent = send_checkin_link(care_team["nurse"], care_team["patient"])
    barrier = threading.Barrier(submitters)
    outcomes: list[str] = []

    def submit() -> None:
        barrier.wait()
        try:
            submit_checkin(sent.token, _answers(SELF_HARM_PHQ9))
            outcomes.append("stored")
        except LinkRefused as refused:
            outcomes.append(refused.reason)

    threads = [threading.Thread(target=submit) for _ in range(submitters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["stored"] + ["used"] * (submitters - 1)
    with read_session(engine) as session:
        assert len(session.scalars(select(Assessment)).all()) == 2
        assert len(session.scalars(select(Flag).where(Flag.kind == "self_harm")).all()) == 1
    assert len(_audit(engine, "checkin_submitted")) == 1
    assert len(_audit(engine, "checkin_link_refused")) == submitters - 1


def test_caseload_and_chart_show_due_sent_answered_and_overdue(engine: Engine, care_team: dict) -> None:
    prescriber, patient = care_team["prescriber"], care_team["patient"]

    def status() -> str:
        table = caseload(prescriber)
        return str(table.loc[table["patient_id"] == patient, "Check-in"].iloc[0])

    assert status() == "due"  # never measured
    sent = send_checkin_link(prescriber, patient)
    assert status() == "sent"
    assert checkin_links(prescriber, patient)["state"].tolist() == ["waiting for the patient"]
    with write_session(engine) as session:
        session.execute(
            update(PatientCheckinLink).where(PatientCheckinLink.id == sent.link_id).values(expires_at=utcnow())
        )
    assert status() == "overdue"  # the link expired unused while the measures were due
    answered = send_checkin_link(prescriber, patient)
    submit_checkin(answered.token, _answers())
    assert status() == "answered"
    assert checkin_links(prescriber, patient)["state"].tolist() == ["answered", "expired unused"]
