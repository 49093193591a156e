"""The timeline's Altair spec: score series over severity bands, with dose changes on the same axis."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pandas as pd

from components.timeline import default_range, dose_periods, timeline_spec

START = datetime(2026, 6, 1, 15, 0)


def _data() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    assessments = pd.DataFrame(
        [
            {
                "administered_at": START + timedelta(weeks=w),
                "instrument": instrument,
                "total": total,
                "severity": "x",
                "source": "visit",
            }
            for w in range(8)
            for instrument, total in (("PHQ-9", 20 - 2 * w), ("GAD-7", 15 - w))
        ]
    )
    dose_changes = pd.DataFrame(
        [
            {
                "id": 1,
                "prescription_id": 7,
                "changed_at": START,
                "change_type": "start",
                "drug": "sertraline",
                "old_dose": None,
                "new_dose": 50.0,
                "unit": "mg",
                "old_frequency": None,
                "new_frequency": "once daily",
                "old_daily_mg": None,
                "new_daily_mg": 50.0,
                "reason": "MDD",
                "author": "Dr A",
            },
            {
                "id": 2,
                "prescription_id": 7,
                "changed_at": START + timedelta(weeks=3),
                "change_type": "increase",
                "drug": "sertraline",
                "old_dose": 50.0,
                "new_dose": 100.0,
                "unit": "mg",
                "old_frequency": "once daily",
                "new_frequency": "once daily",
                "old_daily_mg": 50.0,
                "new_daily_mg": 100.0,
                "reason": "<script>alert(1)</script> partial response",
                "author": "Dr A",
            },
        ]
    )
    side_effects = pd.DataFrame(
        [
            {
                "reported_at": START + timedelta(weeks=2),
                "drug": "sertraline",
                "symptom": "nausea",
                "severity": "mild",
                "note": None,
            }
        ]
    )
    return assessments, dose_changes, side_effects


def test_spec_has_score_series_bands_and_dose_change_marks() -> None:
    assessments, dose_changes, side_effects = _data()
    spec = timeline_spec(assessments, dose_changes, side_effects, start=START, end=START + timedelta(weeks=9))
    text = json.dumps(spec)
    panels = spec["vconcat"]
    assert [panel["title"] for panel in panels] == [
        "PHQ-9 total",
        "GAD-7 total",
        "Medications and doses",
        "Side-effect reports",
    ]
    phq_layers = panels[0]["layer"]
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in phq_layers]
    assert marks == ["rect", "text", "rule", "line"]
    datasets = spec["datasets"]
    band_sets = [rows for rows in datasets.values() if rows and "band" in rows[0]]
    assert {row["band"] for row in band_sets[0]} | {row["band"] for row in band_sets[1]} >= {
        "minimal",
        "mild",
        "moderate",
        "moderately severe",
        "severe",
    }
    score_rows = [row for rows in datasets.values() for row in rows if "total" in row and "instrument" in row]
    assert len(score_rows) == 16
    change_rows = [row for rows in datasets.values() for row in rows if "change" in row]
    assert {(row["change"], row["from_dose"], row["to_dose"]) for row in change_rows} == {
        ("start", "—", "50 mg once daily"),
        ("increase", "50 mg once daily", "100 mg once daily"),
    }
    # Hover shows drug, old and new dose and reason; the reason travels as data, never as markup.
    assert '"title": "Reason"' in text and "<script>" in text
    assert spec["resolve"]["scale"]["x"] == "shared"


def test_dose_periods_follow_the_history() -> None:
    _, dose_changes, _ = _data()
    periods = dose_periods(dose_changes, until=START + timedelta(weeks=9))
    assert list(periods["dose_label"]) == ["50 mg once daily", "100 mg once daily"]
    assert periods.iloc[0]["end"] == START + timedelta(weeks=3)


def test_default_range_shows_short_courses_whole_and_long_ones_recent() -> None:
    assert default_range(START, START + timedelta(weeks=10)) == "All"
    assert default_range(START, START + timedelta(weeks=104)) == "Last 6 months"


def test_the_shared_template_holds_no_patient_data_and_each_spec_carries_its_own() -> None:
    from components.timeline import _template

    assessments, dose_changes, side_effects = _data()
    spec = timeline_spec(assessments, dose_changes, side_effects, start=START, end=START + timedelta(weeks=9))
    template = _template()  # one for every patient and window: the window and heights are filled in per chart
    # The template is cached across users: nothing of this patient may be in it.
    for patient_value in ("sertraline", "nausea", "partial response", "Dr A"):
        assert patient_value not in template
        assert patient_value in json.dumps(spec["datasets"])
    assert {"scores", "changes", "periods", "effects"} <= set(spec["datasets"])
    assert len(spec["datasets"]["periods"]) == 2
    assert START.date().isoformat() in json.dumps(spec) and "1901-01-01" not in json.dumps(spec)
