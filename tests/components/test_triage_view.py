"""The plain-text urgent lines above the triage table."""

from __future__ import annotations

import pandas as pd

from components.triage_view import format_age, urgent_lines


def _queue(owner: object) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "severity": ["urgent", "high"],
            "patient": ["Doe, Jan", "Roe, Kim"],
            "mrn": ["IOP-000001", "IOP-000002"],
            "kind": ["self_harm", "early_refill"],
            "state": ["open", "open"],
            "age_minutes": [125, 5],
            "owner": [owner, None],
        }
    )


def test_only_urgent_flags_get_a_line_and_a_missing_owner_reads_none() -> None:
    # pandas turns a missing owner into NaN: the line must not show "nan".
    assert urgent_lines(_queue(None)) == [
        "URGENT · Doe, Jan (IOP-000001) · self harm · open · 2 h 05 min · owner: none"
    ]
    assert urgent_lines(_queue("Ellery, Jordan"))[0].endswith("owner: Ellery, Jordan")


def test_ages_read_in_minutes_hours_then_days() -> None:
    assert [format_age(m) for m in (0, 59, 60, 2879, 2880)] == ["0 min", "59 min", "1 h 00 min", "47 h 59 min", "2 d"]
