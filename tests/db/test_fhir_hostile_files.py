"""Hostile FHIR files (issue 14 item 9): giant integers and non-UTF-8 text are refused by name, not with a
generic error, and nothing is stored."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, func, select

from db.commands import InvalidInput
from db.commands.fhir import import_self_reports, onboard_patient
from db.engine import read_session
from db.models import Assessment, Patient
from tests.db.test_fhir_import import ndjson, phq9_observation
from tests.factories import make_patient, make_team, make_user


@pytest.fixture
def nurse(engine: Engine):  # type: ignore[no-untyped-def]
    team = make_team(engine)
    nurse = make_user(engine, "nurse", team_id=team)
    prescriber = make_user(engine, "prescriber", team_id=team)
    make_patient(engine, prescriber=prescriber, nurse=nurse, mrn="MRN-OURS")
    return nurse


def _stored(engine: Engine) -> tuple[int, int]:
    with read_session(engine) as session:
        return (
            int(session.scalar(select(func.count()).select_from(Assessment)) or 0),
            int(session.scalar(select(func.count()).select_from(Patient)) or 0),
        )


def test_an_integer_of_thousands_of_digits_refuses_the_file_by_name(engine: Engine, nurse) -> None:  # type: ignore[no-untyped-def]
    giant = "9" * 5000  # beyond Python's 4,300-digit limit for int(): a bare ValueError before this change
    bundle = '{"resourceType": "Bundle", "type": "collection", "total": ' + giant + ', "entry": []}'
    with pytest.raises(InvalidInput, match="a number has 5,000 digits"):
        import_self_reports(nurse, bundle)
    with pytest.raises(InvalidInput, match="a number has 5,000 digits"):
        onboard_patient(make_user(engine, "admin"), bundle)
    assert _stored(engine) == (0, 1)


def test_a_giant_integer_on_one_ndjson_line_rejects_that_line_only(engine: Engine, nurse) -> None:  # type: ignore[no-untyped-def]
    good = phq9_observation("MRN-OURS", [1] * 9, "good")
    hostile = '{"resourceType": "Observation", "valueInteger": ' + "1" * 4301 + "}"
    results = import_self_reports(nurse, ndjson(good, hostile))
    assert [r.status for r in results] == ["imported", "rejected"], [(r.status, r.detail) for r in results]
    assert "4,301 digits" in results[1].detail
    assert _stored(engine) == (1, 1)


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("latin-1", "not UTF-8 text .*Latin-1"),
        ("utf-16", "UTF-16 text; save it as UTF-8"),  # with a byte-order mark
        ("utf-16-le", "NUL bytes, as UTF-16 or UTF-32"),  # without one
        ("utf-32", "UTF-32 text; save it as UTF-8"),
    ],
)
def test_a_file_not_in_utf8_is_refused_with_the_reason(engine: Engine, nurse, encoding: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    report = phq9_observation("MRN-OURS", [1] * 9, "accented")
    report["note"] = [{"text": "Señora Müller"}]
    payload = json.dumps(report, ensure_ascii=False).encode(encoding)
    with pytest.raises(InvalidInput, match=expected):
        import_self_reports(nurse, payload)
    assert _stored(engine) == (0, 1)
