"""Small builders for test data (tests that need a whole program use the seed generator instead)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from functools import cache

from sqlalchemy import Engine

from db.auth import actor_for
from db.engine import utcnow, write_session
from db.models import Flag, Patient, Prescription, RefillRequest, Team, User
from db.permissions import Actor
from db.summary import refresh_patient_summary

TEST_PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


@cache
def _test_password_hash() -> str:
    from db.auth import hash_password

    return hash_password(TEST_PASSWORD, rounds=4)


def make_team(engine: Engine, name: str | None = None) -> int:
    with write_session(engine) as session:
        team = Team(name=name or f"Team {next(_counter)}")
        session.add(team)
        session.flush()
        return team.id


def make_user(
    engine: Engine,
    role: str,
    *,
    team_id: int | None = None,
    username: str | None = None,
    licensed_states: list[str] | None = None,
    is_active: bool = True,
    may_break_glass: bool = False,
) -> Actor:
    username = username or f"{role}{next(_counter)}"
    with write_session(engine) as session:
        user = User(
            username=username,
            full_name=f"{role.title()} {username}",
            role=role,
            password_hash=_test_password_hash(),
            is_active=is_active,
            team_id=team_id,
            licensed_states=licensed_states if licensed_states is not None else ["NY", "NJ"],
            may_break_glass=may_break_glass,
        )
        session.add(user)
        session.flush()
        return actor_for(user)


def make_patient(
    engine: Engine,
    *,
    prescriber: Actor | None = None,
    nurse: Actor | None = None,
    team_id: int | None = None,
    state: str = "NY",
    **fields: object,
) -> int:
    n = next(_counter)
    values: dict[str, object] = {
        "mrn": f"T-{n:06d}",
        "given_name": "Test",
        "family_name": f"Patient{n}",
        "date_of_birth": date(1990, 1, 1),
        "sex": "female",
        "state_of_residence": state,
        "program_phase": "intensive",
        "program_start_date": date(2026, 10, 1),
        "prescriber_id": prescriber.user_id if prescriber else None,
        "nurse_id": nurse.user_id if nurse else None,
        "team_id": team_id if team_id is not None else (nurse.team_id if nurse else None),
        "telehealth_consent_date": date(2026, 10, 1),
    }
    values.update(fields)
    with write_session(engine) as session:
        patient = Patient(**values)
        session.add(patient)
        session.flush()
        refresh_patient_summary(session, patient.id)  # as the write commands do
        return patient.id


def make_refill_request(engine: Engine, patient_id: int, *, drug: str = "sertraline", dose: float = 50) -> int:
    """An active once-daily prescription, last filled 27 days ago, with a pending 30-day refill request."""
    today = date.today()
    with write_session(engine) as session:
        prescription = Prescription(
            patient_id=patient_id,
            drug=drug,
            dose=dose,
            unit="mg",
            frequency="once daily",
            daily_dose_mg=dose,
            start_date=today - timedelta(days=90),
            quantity=30,
            days_supply=30,
            last_fill_date=today - timedelta(days=27),
        )
        session.add(prescription)
        session.flush()
        request = RefillRequest(
            patient_id=patient_id,
            prescription_id=prescription.id,
            requested_at=utcnow(),
            source="patient",
            quantity=30,
            days_supply=30,
        )
        session.add(request)
        session.flush()
        refresh_patient_summary(session, patient_id)
        return request.id


SELF_HARM = ("self_harm", "urgent", "self_harm", "PHQ-9 item 9 answered 1")
SEVERE_NAUSEA = ("severe_side_effect", "high", "side_effect:nausea", "severe nausea on sertraline")


def make_flag(engine: Engine, patient_id: int, finding: tuple[str, str, str, str], *, age: timedelta) -> int:
    """An open flag raised ``age`` ago; ``finding`` is (kind, severity, cause, summary), e.g. SELF_HARM."""
    import clinical

    kind, severity, cause, summary = finding
    with write_session(engine) as session:
        flag = Flag(
            patient_id=patient_id,
            kind=kind,
            severity=severity,
            severity_rank=clinical.SEVERITY_ORDER.index(severity),
            cause=cause,
            summary=summary,
            state="open",
            is_open=True,
            raised_at=utcnow() - age,
        )
        session.add(flag)
        session.flush()
        refresh_patient_summary(session, patient_id)
        return flag.id
