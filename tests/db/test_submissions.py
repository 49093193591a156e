"""One form submission, one write: the token a form carries is claimed in the write's own transaction."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from db.commands import AlreadySubmitted, InvalidInput
from db.commands.medications import MedicationOrder, start_medication
from db.commands.visits import VisitInput, log_visit
from db.engine import read_session, utcnow
from db.models import AuditEvent, FormSubmission, Prescription, Visit
from tests.factories import make_patient, make_team, make_user

TOKEN = "tok_" + "a" * 28


@pytest.fixture
def setup(engine: Engine) -> dict:
    team = make_team(engine)
    prescriber = make_user(engine, "prescriber", team_id=team)
    patient = make_patient(engine, prescriber=prescriber)
    return {"prescriber": prescriber, "patient": patient}


def _count(model: type, *conditions: object) -> int:
    with read_session() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


def _start(setup: dict, token: str | None) -> Prescription:
    order = MedicationOrder(drug="trazodone", dose=50, unit="mg", frequency="at bedtime", reason="insomnia")
    return start_medication(setup["prescriber"], setup["patient"], order, expected_patient_version=1, submission=token)


def test_a_replayed_submission_writes_nothing_and_repeats_the_first_outcome(engine: Engine, setup: dict) -> None:
    first = _start(setup, TOKEN)
    with pytest.raises(AlreadySubmitted) as repeat:
        _start(setup, TOKEN)
    assert "Started trazodone 50 mg at bedtime." in str(repeat.value)
    assert _count(Prescription) == 1
    assert _count(AuditEvent, AuditEvent.action == "start_medication") == 1
    with read_session() as session:
        claim = session.get(FormSubmission, TOKEN)
    assert claim is not None
    assert (claim.user_id, claim.action, claim.record_type, claim.record_id) == (
        setup["prescriber"].user_id,
        "start_medication",
        "prescription",
        first.id,
    )


def test_a_new_token_is_a_new_submission(engine: Engine, setup: dict) -> None:
    _start(setup, TOKEN)
    _start(setup, "tok_" + "b" * 28)
    assert _count(Prescription) == 2


def test_a_refused_save_does_not_use_up_its_token(engine: Engine, setup: dict) -> None:
    bad = MedicationOrder(drug="trazodone", dose=5000, unit="mg", frequency="at bedtime", reason="insomnia")
    with pytest.raises(Exception):  # noqa: B017 - the dose check refuses it; which error is tested elsewhere
        start_medication(setup["prescriber"], setup["patient"], bad, expected_patient_version=1, submission=TOKEN)
    assert _count(FormSubmission) == 0
    _start(setup, TOKEN)  # the corrected form, same token, saves
    assert _count(Prescription) == 1


def test_a_malformed_token_is_refused(engine: Engine, setup: dict) -> None:
    with pytest.raises(InvalidInput):
        _start(setup, "x'; DROP TABLE visits; --")
    assert _count(Prescription) == 0


def test_concurrent_clicks_of_one_submission_write_exactly_once(engine: Engine, setup: dict) -> None:
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def click() -> None:
        barrier.wait()
        try:
            log_visit(
                setup["prescriber"],
                setup["patient"],
                VisitInput(visit_at=utcnow() - timedelta(minutes=5), modality="video", duration_minutes=20),
                expected_patient_version=1,
                submission=TOKEN,
            )
            result = "saved"
        except AlreadySubmitted:
            result = "already saved"
        except Exception as error:  # anything else is a defect the user would see
            result = f"{type(error).__name__}: {error}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=click) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already saved"] * 5 + ["saved"]
    assert _count(Visit) == 1
    assert _count(AuditEvent, AuditEvent.action == "log_visit") == 1
