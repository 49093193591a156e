"""The check-in status rule (due, sent, answered, overdue, up to date) and the crisis line shown to patients."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import clinical
from clinical.checkins import ANSWERED, DUE, OVERDUE, SENT, UP_TO_DATE

NOW = datetime(2026, 11, 20, 15, 0)
TODAY = NOW.date()


def _status(due_on: date | None, link: clinical.LinkSnapshot | None = None, last_visit: datetime | None = None) -> str:
    return clinical.checkin_status(
        measures_due_on=due_on, interval_days=7, latest_link=link, last_visit_at=last_visit, now=NOW, today=TODAY
    )


def _link(*, hours_ago: int, hours: int = 72, used: bool = False, revoked: bool = False) -> clinical.LinkSnapshot:
    created = NOW - timedelta(hours=hours_ago)
    return clinical.LinkSnapshot(
        created_at=created,
        expires_at=created + timedelta(hours=hours),
        used_at=created + timedelta(hours=1) if used else None,
        revoked_at=created + timedelta(hours=1) if revoked else None,
    )


def test_due_and_overdue_follow_the_measure_date_and_a_week_of_grace() -> None:
    assert _status(TODAY + timedelta(days=1)) == UP_TO_DATE
    assert _status(TODAY) == DUE
    assert _status(TODAY - timedelta(days=7)) == DUE
    assert _status(TODAY - timedelta(days=8)) == OVERDUE
    assert _status(None) == UP_TO_DATE  # a phase without a cadence


def test_a_live_link_is_sent_an_answered_one_counts_for_an_interval_and_a_lapsed_one_is_overdue() -> None:
    assert _status(TODAY, _link(hours_ago=2)) == SENT
    assert _status(TODAY, _link(hours_ago=24, used=True)) == ANSWERED
    assert _status(TODAY, _link(hours_ago=24 * 10, used=True)) == DUE  # used before the last interval
    assert _status(TODAY, _link(hours_ago=24 * 10, used=True), last_visit=NOW - timedelta(days=12)) == ANSWERED
    assert _status(TODAY, _link(hours_ago=80)) == OVERDUE  # expired unused while due
    assert _status(TODAY + timedelta(days=3), _link(hours_ago=80)) == UP_TO_DATE
    assert _status(TODAY, _link(hours_ago=2, revoked=True)) == DUE


def test_the_crisis_line_is_988_with_its_source() -> None:
    line = clinical.crisis_line()
    assert line.call_or_text == "988" and "988" in line.text and "911" in line.text
    assert "Suicide & Crisis Lifeline" in line.name and line.source
