"""The timeline's Altair spec: score series over severity bands, with dose changes on the same axis."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pandas as pd

from components.tables import CHART_DATE
from components.timeline import (
    BASELINE,
    ITEM9_LABEL,
    RESPONSE,
    default_range,
    dose_periods,
    reference_rows,
    score_rows,
    timeline_spec,
)

START = datetime(2026, 6, 1, 15, 0)


def _phq9(total: int, item9: int) -> list[int]:
    """PHQ-9 answers adding up to ``total`` with item 9 answered ``item9``."""
    rest = total - item9
    answers = [min(3, max(0, rest - 3 * n)) for n in range(8)]
    return [*answers, item9]


def _gad7(total: int) -> list[int]:
    return [min(3, max(0, total - 3 * n)) for n in range(7)]


def _data() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    assessments = pd.DataFrame(
        [
            {
                "administered_at": START + timedelta(weeks=w),
                "instrument": instrument,
                "total": total,
                "severity": "x",
                "source": "visit",
                # Item 9 positive at the first and the fourth PHQ-9.
                "answers": _phq9(total, 1 if w in (0, 3) else 0) if instrument == "PHQ-9" else _gad7(total),
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
    # bands, band labels, medication-change rules, baseline/response rules, scores, item-9 markers
    assert marks == ["rect", "text", "rule", "rule", "line", "point"]
    gad_marks = [layer["mark"]["type"] for layer in panels[1]["layer"]]
    assert gad_marks == ["rect", "text", "rule", "rule", "line"]  # item 9 is a PHQ-9 item
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
    # One for every patient and window with these scales: the window and heights are filled in per chart.
    template = _template(("PHQ-9", "GAD-7"))
    # The template is cached across users: nothing of this patient may be in it.
    for patient_value in ("sertraline", "nausea", "partial response", "Dr A"):
        assert patient_value not in template
        assert patient_value in json.dumps(spec["datasets"])
    assert {"scores", "references", "changes", "periods", "effects"} <= set(spec["datasets"])
    assert len(spec["datasets"]["periods"]) == 2
    assert START.date().isoformat() in json.dumps(spec) and "1901-01-01" not in json.dumps(spec)


def _spec() -> dict:
    assessments, dose_changes, side_effects = _data()
    return timeline_spec(assessments, dose_changes, side_effects, start=START, end=START + timedelta(weeks=9))


def _walk(node: object) -> list[dict]:
    """Every object in the spec, depth first."""
    found: list[dict] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found.extend(_walk(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_walk(value))
    return found


def test_each_scale_has_its_baseline_and_its_50_percent_response_line() -> None:
    assessments, _, _ = _data()
    lines = reference_rows(assessments, ("PHQ-9", "GAD-7"))
    assert [(row.instrument, row.line, row.value) for row in lines.itertuples()] == [
        ("PHQ-9", BASELINE, 20),
        ("PHQ-9", RESPONSE, 10.0),
        ("GAD-7", BASELINE, 15),
        ("GAD-7", RESPONSE, 7.5),
    ]
    assert lines.iloc[0]["detail"] == "PHQ-9 20 on 2026-06-01"
    spec = _spec()
    assert spec["datasets"]["references"] == json.loads(lines.to_json(orient="records"))
    # Drawn on both score panels, as horizontal rules told apart by dash pattern and colour, with a legend.
    for panel in spec["vconcat"][:2]:
        rules = [layer for layer in panel["layer"] if layer.get("data", {}).get("name") == "references"]
        assert len(rules) == 1 and rules[0]["mark"]["type"] == "rule"
        assert rules[0]["encoding"]["strokeDash"]["scale"]["domain"] == [BASELINE, RESPONSE]
    legend = spec["vconcat"][0]["layer"][3]["encoding"]["strokeDash"]["legend"]
    assert legend["labelLimit"] == 0  # the labels are never cut off


def test_a_patient_without_scores_gets_no_reference_lines() -> None:
    assessments, _, _ = _data()
    assert reference_rows(assessments.iloc[0:0], ("PHQ-9", "GAD-7")).empty


def test_every_positive_item_9_is_marked_with_its_own_shape_colour_and_legend() -> None:
    assessments, _, _ = _data()
    scores = score_rows(assessments)
    phq = scores[scores["instrument"] == "PHQ-9"]
    assert list(phq["item9"]) == [1, 0, 0, 1, 0, 0, 0, 0]
    marker = _spec()["vconcat"][0]["layer"][5]
    assert marker["mark"]["type"] == "point" and marker["mark"]["size"] > 100
    filters = [step["filter"] for step in marker["transform"] if "filter" in step]
    assert any("datum.item9 > 0" in str(condition) for condition in filters)
    assert marker["encoding"]["shape"]["scale"] == {"domain": [ITEM9_LABEL], "range": ["diamond"]}
    assert marker["encoding"]["shape"]["legend"]["title"] is None


def test_hovering_a_score_shows_its_item_answers_and_change_from_baseline() -> None:
    assessments, _, _ = _data()
    scores = score_rows(assessments)
    first, fourth = scores[scores["instrument"] == "PHQ-9"].iloc[[0, 3]].to_dict("records")
    assert first["from_baseline"] == "this is the baseline"
    assert fourth["from_baseline"] == "-6 (-30 %)"
    assert fourth["item_9"] == "1 · Several days"
    assert first["item_1"] == "3 · Nearly every day"
    line = _spec()["vconcat"][0]["layer"][4]
    titles = [tip["title"] for tip in line["encoding"]["tooltip"]]
    assert titles[:5] == ["Date", "PHQ-9", "Severity", "Change from baseline", "Source"]
    assert len(titles) == 5 + 9 and titles[5].startswith("1. Little interest") and titles[-1].startswith("9. ")


def test_every_panel_shows_dates_in_one_format() -> None:
    spec = _spec()
    objects = _walk(spec)
    axis_formats = {obj["axis"]["format"] for obj in objects if obj.get("type") == "temporal" and "axis" in obj}
    tooltip_formats = {
        tip.get("format")
        for obj in objects
        for tip in (obj.get("tooltip") if isinstance(obj.get("tooltip"), list) else [])
        if tip.get("type") == "temporal"
    }
    assert axis_formats == {CHART_DATE} and tooltip_formats == {CHART_DATE}
    # Every panel that draws a time axis draws it with that format (none falls back to Vega's default).
    for panel in spec["vconcat"]:
        axes = [obj for obj in _walk(panel) if obj.get("type") == "temporal" and "axis" in obj]
        assert axes, panel["title"]


def test_the_chart_fits_its_container_with_no_fixed_width() -> None:
    spec = _spec()
    assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}
    assert {panel["width"] for panel in spec["vconcat"]} == {"container"}
    assert not [obj for obj in _walk(spec) if isinstance(obj.get("width"), int | float)]


def test_another_scored_instrument_gets_its_own_panel_with_a_baseline() -> None:
    assessments, dose_changes, side_effects = _data()
    audit = pd.DataFrame(
        [
            {
                "administered_at": START + timedelta(weeks=w),
                "instrument": "AUDIT-C",
                "total": 6 - w,
                "severity": None,
                "source": "self_report",
                "answers": [2, 2, 2 - w],
            }
            for w in range(3)
        ]
    )
    spec = timeline_spec(
        pd.concat([assessments, audit], ignore_index=True),
        dose_changes,
        side_effects,
        start=START,
        end=START + timedelta(weeks=9),
    )
    assert [panel["title"] for panel in spec["vconcat"]][:3] == ["PHQ-9 total", "GAD-7 total", "AUDIT-C total"]
    audit_lines = [row for row in spec["datasets"]["references"] if row["instrument"] == "AUDIT-C"]
    assert [(row["line"], row["value"]) for row in audit_lines] == [(BASELINE, 6)]  # AUDIT-C defines no response
