"""--weeks-history: two years of weekly scores for benchmarks; staffing that scales with the program."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from db.models import Assessment, Patient
from seed.staff import staffing_for
from tests.seed.conftest import SEED_TODAY, SeededProgram


def test_two_years_of_history_gives_two_years_of_weekly_scores(seed_program: Callable[..., SeededProgram]) -> None:
    program = seed_program(seed=5, patients=60, weeks_history=104)
    with program.engine.connect() as connection:
        rows = connection.execute(select(Patient.id, Patient.program_start_date))
        starts = {row.id: row.program_start_date for row in rows}
        times: dict[int, list[datetime]] = defaultdict(list)
        for patient_id, administered_at in connection.execute(
            select(Assessment.patient_id, Assessment.administered_at).where(Assessment.instrument == "PHQ-9")
        ):
            times[patient_id].append(administered_at)

    earliest = min(starts.values())
    assert (SEED_TODAY - earliest).days > 7 * 90
    longest = max(times.values(), key=lambda moments: max(moments) - min(moments))
    span_weeks = (max(longest) - min(longest)).days / 7
    assert span_weeks > 90
    assert len(longest) >= 0.8 * span_weeks  # weekly, give or take a skipped self-report


def test_staffing_scales_with_the_number_of_patients() -> None:
    assert staffing_for(40)[1] == 3  # at least three prescribers
    teams, prescribers, nurses, supervisors = staffing_for(10_000)
    assert 40 <= 10_000 / prescribers <= 150
    assert nurses >= 2 * teams and supervisors == 2
