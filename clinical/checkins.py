"""Where a patient stands with the measures they answer between visits: due, sent, answered or overdue.

"Due" follows the program's measure cadence (``MEASURE_CADENCE_DAYS``, by phase): a measure is due that many
days after the last one. A check-in link is "sent" while it can still be used, "answered" when it was used since
the last visit or within one measure interval, and the measures are "overdue" when a link expired unused while
they were due, or when they are more than ``OVERDUE_GRACE_DAYS`` past due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

DUE = "due"
SENT = "sent"
ANSWERED = "answered"
OVERDUE = "overdue"
UP_TO_DATE = "up to date"
CHECKIN_STATUSES: tuple[str, ...] = (OVERDUE, DUE, SENT, ANSWERED, UP_TO_DATE)  # most pressing first
OVERDUE_GRACE_DAYS = 7  # program policy: a week past the measure interval


@dataclass(frozen=True)
class LinkSnapshot:
    """The newest check-in link of a patient (naive UTC times, as stored)."""

    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None

    def is_live(self, now: datetime) -> bool:
        return self.used_at is None and self.revoked_at is None and now < self.expires_at

    def expired_unused(self, now: datetime) -> bool:
        return self.used_at is None and self.revoked_at is None and now >= self.expires_at


def checkin_status(
    *,
    measures_due_on: date | None,
    interval_days: int | None,
    latest_link: LinkSnapshot | None,
    last_visit_at: datetime | None,
    now: datetime,
    today: date,
) -> str:
    """One of ``CHECKIN_STATUSES``. ``measures_due_on`` is the earliest date a PHQ-9 or GAD-7 is due (None: the
    phase has no cadence); ``interval_days`` the shortest of their intervals."""
    if latest_link is not None and latest_link.is_live(now):
        return SENT
    if latest_link is not None and latest_link.used_at is not None:
        since_visit = last_visit_at is not None and latest_link.used_at >= last_visit_at
        within_interval = interval_days is not None and latest_link.used_at >= now - timedelta(days=interval_days)
        if since_visit or within_interval:
            return ANSWERED
    if measures_due_on is None or measures_due_on > today:
        return UP_TO_DATE
    link_lapsed = latest_link is not None and latest_link.expired_unused(now)
    if link_lapsed or measures_due_on + timedelta(days=OVERDUE_GRACE_DAYS) < today:
        return OVERDUE
    return DUE
