"""Break the glass, tightened (issue 14 item 7): reason categories decide read-only or care actions, a thin
reason is refused, a per-user cap, alerts to the care team and supervisors, and no MRN existence oracle."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from db.commands import InvalidInput
from db.commands.access import NOT_GRANTED, break_glass
from db.commands.patient_status import ClinicalStatus, update_clinical_status
from db.engine import read_session
from db.models import AuditEvent, BreakGlassGrant, Flag, Patient
from db.permissions import Actor, PermissionDenied
from db.queries.patients import may_act_for, patient_id_for_mrn
from db.queries.program import emergency_access_log
from db.queries.queues import triage_queue
from tests.factories import make_patient, make_team, make_user

REASON = "patient called the crisis line, primary nurse off shift, need the medication list"


@pytest.fixture
def setup(engine: Engine) -> dict:
    team, other_team = make_team(engine), make_team(engine)
    nurse = make_user(engine, "nurse", team_id=team, may_break_glass=True, username="rn_glass")
    prescriber = make_user(engine, "prescriber", team_id=other_team, username="dr_owner")
    other_nurse = make_user(engine, "nurse", team_id=other_team)
    supervisor = make_user(engine, "supervisor")
    patients = [
        make_patient(engine, prescriber=prescriber, nurse=other_nurse, mrn=f"MRN-BG{n}", sex="female") for n in range(5)
    ]
    return dict(nurse=nurse, prescriber=prescriber, supervisor=supervisor, patients=patients)


def _write(engine: Engine, actor: Actor, patient_id: int) -> None:
    with read_session(engine) as session:
        version = session.get(Patient, patient_id).version  # type: ignore[union-attr]
    update_clinical_status(
        actor, patient_id, ClinicalStatus(pregnancy_status="not_pregnant"), expected_patient_version=version
    )


def test_a_records_review_grant_is_read_only(engine: Engine, setup: dict) -> None:
    nurse, patient = setup["nurse"], setup["patients"][0]
    grant = break_glass(nurse, "MRN-BG0", "covering_review", REASON)
    assert (grant.category, grant.allows_care) == ("covering_review", False)
    assert patient_id_for_mrn(nurse, "MRN-BG0") == patient  # the chart opens
    assert not may_act_for(nurse, patient)
    with pytest.raises(PermissionDenied):
        _write(engine, nurse, patient)


def test_an_imminent_risk_grant_allows_care_actions(engine: Engine, setup: dict) -> None:
    nurse, patient = setup["nurse"], setup["patients"][0]
    grant = break_glass(nurse, "MRN-BG0", "imminent_risk", REASON)
    assert grant.allows_care
    assert may_act_for(nurse, patient)
    _write(engine, nurse, patient)
    with read_session(engine) as session:
        assert session.get(Patient, patient).pregnancy_status == "not_pregnant"  # type: ignore[union-attr]


@pytest.mark.parametrize("reason", ["xxxxxxxxxx", "x" * 40, "help help help help help", "1234567890 1234567890"])
def test_a_reason_that_says_nothing_is_refused(engine: Engine, setup: dict, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        break_glass(setup["nurse"], "MRN-BG0", "imminent_risk", reason)
    assert "reason" in refused.value.errors
    with pytest.raises(InvalidInput) as refused:
        break_glass(setup["nurse"], "MRN-BG0", "because I said so", REASON)
    assert "reason category" in refused.value.errors
    with read_session(engine) as session:
        assert session.scalars(select(BreakGlassGrant)).all() == []


def test_each_user_is_capped_at_three_attempts_a_day_unknown_mrns_included(engine: Engine, setup: dict) -> None:
    nurse = setup["nurse"]
    break_glass(nurse, "MRN-BG0", "covering_review", REASON)
    with pytest.raises(PermissionDenied):
        break_glass(nurse, "MRN-NOPE", "covering_review", REASON)  # a guess counts against the cap
    break_glass(nurse, "MRN-BG1", "covering_review", REASON)
    with pytest.raises(PermissionDenied, match="limit of 3 emergency accesses in 24 hours"):
        break_glass(nurse, "MRN-BG2", "imminent_risk", REASON)
    with read_session(engine) as session:
        assert len(session.scalars(select(BreakGlassGrant)).all()) == 2
        outcomes = session.scalars(
            select(AuditEvent.outcome).where(AuditEvent.action == "break_glass").order_by(AuditEvent.id)
        ).all()
    assert outcomes == ["success", "denied", "success", "denied"]


def test_an_unknown_mrn_is_refused_in_the_words_of_a_policy_refusal_and_audited(engine: Engine, setup: dict) -> None:
    with pytest.raises(PermissionDenied) as refused:
        break_glass(setup["nurse"], "MRN-NOPE", "imminent_risk", REASON)
    assert str(refused.value) == NOT_GRANTED
    assert "exist" not in NOT_GRANTED and "no patient" not in NOT_GRANTED.lower()
    with read_session(engine) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "break_glass")).one()
    assert (event.outcome, event.username) == ("denied", "rn_glass") and "unknown MRN" in (event.detail or "")


def test_a_grant_alerts_the_prescriber_and_the_supervisors(engine: Engine, setup: dict) -> None:
    patient = setup["patients"][0]
    break_glass(setup["nurse"], "MRN-BG0", "covering_review", REASON)
    with read_session(engine) as session:
        flags = session.scalars(select(Flag).where(Flag.patient_id == patient)).all()
    assert [(flag.kind, flag.severity, flag.state) for flag in flags] == [("emergency_access", "high", "open")]
    assert "read-only" in flags[0].summary and "rn_glass" in flags[0].summary
    log = emergency_access_log(setup["supervisor"])
    assert log[["mrn", "category", "care_actions"]].values.tolist() == [["MRN-BG0", "covering_review", False]]
    for reviewer in (setup["prescriber"], setup["supervisor"]):
        queue = triage_queue(reviewer)
        assert list(queue[queue["kind"] == "emergency_access"]["mrn"]) == ["MRN-BG0"], reviewer.role
