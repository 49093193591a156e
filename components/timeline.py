"""One timeline: symptom scores over their severity bands, with every medication change on the same axis.

Panels share one time axis (drag to pan, scroll to zoom): PHQ-9 and GAD-7 (and any other scored instrument the
patient has) over their severity bands, with the baseline and the 50 % response line, a marker at every
positive PHQ-9 item 9, and a vertical rule at every medication start, dose change and stop; medication lanes
showing each dose period; and side-effect reports by severity. Hovering any mark shows its details (a score
shows its item answers). Every panel shows dates in the one format the tables use (components.tables).
"""

from __future__ import annotations

import functools
import json
from datetime import date, datetime, timedelta
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa
from streamlit import dataframe_util

import clinical
from clinical.interop import answer_codes
from components.tables import CHART_DATE, dose_text

# Colours chosen to read in the light and the dark theme: marks drawn on the page background have a contrast of
# at least 3:1 against both white and Streamlit's dark background (tests/components/test_timeline.py); marks
# drawn on the severity bands are dark, since the bands stay light in both themes.
BAND_COLOURS = ["#e8f5e9", "#fff8e1", "#ffe0b2", "#ffccbc", "#ffcdd2"]
SCORE_COLOUR = "#263238"  # on the bands
SCORE_COLOUR_NO_BANDS = "#546e7a"  # an instrument without severity bands draws on the page background
CHANGE_RULE_COLOUR = "#5c6bc0"
LANE_COLOUR = "#7986cb"
CHANGE_POINT_COLOUR = "#d55e00"
OUTLINE = "#1a202c"
# Side effects: colour, shape and size each tell the severity (colour-blind safe).
SEVERITY_COLOURS = {"mild": "#e69f00", "moderate": "#d55e00", "severe": "#c62828"}
SEVERITY_SHAPES = {"mild": "circle", "moderate": "square", "severe": "triangle-up"}
CHANGE_SHAPES = {
    "start": "triangle-right",
    "increase": "triangle-up",
    "decrease": "triangle-down",
    "change": "diamond",
    "stop": "square",
}
# Reference lines on every score panel: where the patient started, and where a 50 % response lies.
BASELINE = "Baseline (first score)"
RESPONSE = "50 % response (baseline × 0.5)"
REFERENCE_STYLES = {BASELINE: ("#546e7a", [8, 4]), RESPONSE: ("#00897b", [2, 3])}
# A positive PHQ-9 item 9 (thoughts of self-harm) is marked wherever it was answered above 0.
ITEM9_LABEL = "PHQ-9 item 9 > 0 (thoughts of self-harm)"
ITEM9_COLOUR = "#e91e63"
ITEM9_SHAPE = "diamond"
MEASURES = ("PHQ-9", "GAD-7")  # always drawn; any other scored instrument the patient has is drawn after them
# Hovering a medication change (a dashed rule or a lane marker) shows the drug, old and new dose and why.
CHANGE_TOOLTIP = [
    alt.Tooltip("at:T", title="Date", format=CHART_DATE),
    alt.Tooltip("drug:N", title="Medication"),
    alt.Tooltip("change:N", title="Change"),
    alt.Tooltip("from_dose:N", title="From"),
    alt.Tooltip("to_dose:N", title="To"),
    alt.Tooltip("reason:N", title="Reason"),
    alt.Tooltip("author:N", title="By"),
]
ITEM_LABEL_CHARS = 48


def _period_records(dose_changes: pd.DataFrame, *, until: datetime) -> list[dict[str, Any]]:
    """The dose history as periods (drug, dose, from, to), each prescription's in the order of its changes."""
    if dose_changes.empty:
        return []
    by_prescription: dict[object, list[dict[str, Any]]] = {}
    for change in dose_changes.sort_values(["changed_at", "id"]).to_dict("records"):
        by_prescription.setdefault(change["prescription_id"], []).append(change)
    periods = []
    for rows in by_prescription.values():
        for current, following in zip(rows, [*rows[1:], None], strict=True):
            if current["change_type"] == "stop":
                continue
            periods.append(
                {
                    "drug": current["drug"],
                    "start": current["changed_at"],
                    "end": following["changed_at"] if following is not None else until,
                    "dose_label": dose_text(current["new_dose"], current["unit"], current["new_frequency"]),
                    "reason": current["reason"],
                    "daily_mg": current["new_daily_mg"],
                }
            )
    return periods


def dose_periods(dose_changes: pd.DataFrame, *, until: datetime) -> pd.DataFrame:
    """Turn the dose history into periods (drug, dose, from, to) for the medication lanes."""
    columns = ["drug", "start", "end", "dose_label", "reason", "daily_mg"]
    return pd.DataFrame(_period_records(dose_changes, until=until), columns=columns)


def _change_records(dose_changes: pd.DataFrame) -> list[dict[str, Any]]:
    if dose_changes.empty:
        return []
    authors = dose_changes["author"] if "author" in dose_changes else [""] * len(dose_changes)
    return [
        {
            "at": _iso(at),
            "drug": drug,
            "change": change,
            "from_dose": dose_text(old_dose, unit, old_frequency),
            "to_dose": dose_text(new_dose, unit, new_frequency),
            "reason": _json_value(reason),
            "author": _json_value(author),
        }
        for at, drug, change, old_dose, new_dose, unit, old_frequency, new_frequency, reason, author in zip(
            dose_changes["changed_at"],
            dose_changes["drug"],
            dose_changes["change_type"],
            dose_changes["old_dose"],
            dose_changes["new_dose"],
            dose_changes["unit"],
            dose_changes["old_frequency"],
            dose_changes["new_frequency"],
            dose_changes["reason"],
            authors,
            strict=True,
        )
    ]


def scales_shown(assessments: pd.DataFrame) -> tuple[str, ...]:
    """PHQ-9 and GAD-7 always, then any other instrument with a total score that the patient has."""
    others = set()
    if not assessments.empty:
        for instrument in assessments["instrument"].dropna().unique():
            name = str(instrument)
            if name not in MEASURES and clinical.instrument_info(name).total_max is not None:
                others.add(name)
    return (*MEASURES, *sorted(others))


@functools.cache
def _answer_words(instrument: str) -> dict[int, str]:
    return {code.score: code.display for code in answer_codes(instrument)}


def _item_text(instrument: str, answer: object) -> str:
    """'2 · More than half the days' for an item answer (its words from the LOINC answer list when there is one)."""
    if answer is None or isinstance(answer, bool) or not isinstance(answer, int | float):
        return "—"
    words = _answer_words(instrument)
    value = int(answer)
    return f"{value} · {words[value]}" if value in words else str(value)


def _score_records(assessments: pd.DataFrame) -> list[dict[str, Any]]:
    """One record per score with a total, grouped by instrument (in order of each one's first score), oldest
    first: total, severity, change from baseline, item answers as text, item 9."""
    if assessments.empty:
        return []
    ordered = assessments.sort_values("administered_at")
    answers_column = ordered["answers"] if "answers" in ordered else [None] * len(ordered)
    by_instrument: dict[str, list[dict[str, Any]]] = {}
    baselines: dict[str, int] = {}
    for at, instrument, total, severity, source, answers in zip(
        ordered["administered_at"],
        ordered["instrument"],
        ordered["total"],
        ordered["severity"],
        ordered["source"],
        answers_column,
        strict=True,
    ):
        rows = by_instrument.setdefault(instrument, [])
        if total is None or pd.isna(total):
            continue
        total = int(total)
        is_baseline = instrument not in baselines
        baseline = baselines.setdefault(instrument, total)
        answers = answers if isinstance(answers, list) else []
        change = total - baseline
        percent = f" ({100 * change / baseline:+.0f} %)" if baseline else ""
        row: dict[str, Any] = {
            "at": at,
            "instrument": instrument,
            "total": total,
            "severity": severity,
            "source": source,
            "from_baseline": "this is the baseline" if is_baseline else f"{change:+d}{percent}",
            "item9": answers[8] if instrument == "PHQ-9" and len(answers) > 8 else None,
        }
        row.update({f"item_{n}": _item_text(str(instrument), value) for n, value in enumerate(answers, start=1)})
        rows.append(row)
    return [row for rows in by_instrument.values() for row in rows]


def score_rows(assessments: pd.DataFrame) -> pd.DataFrame:
    """One row per score for the chart: total, severity, change from baseline, item answers as text, item 9."""
    columns = ["at", "instrument", "total", "severity", "source", "from_baseline", "item9"]
    frame = pd.DataFrame(_score_records(assessments))
    return frame if not frame.empty else pd.DataFrame(columns=columns)


def _reference_records(first_scores: dict[str, tuple[object, int]], instruments: tuple[str, ...]) -> list[dict]:
    """From each instrument's first score (its time and total): the baseline and, where the instrument defines
    one, the response level."""
    rows: list[dict[str, Any]] = []
    for instrument in instruments:
        if instrument not in first_scores:
            continue
        at, baseline = first_scores[instrument]
        since = f"{instrument} {baseline} on {pd.Timestamp(at):%Y-%m-%d}"  # type: ignore[arg-type]
        rows.append({"instrument": instrument, "line": BASELINE, "value": baseline, "detail": since})
        level = clinical.response_level(instrument, baseline)
        if level is not None and baseline > 0:
            rows.append(
                {"instrument": instrument, "line": RESPONSE, "value": level, "detail": f"{level:g} (half of {since})"}
            )
    return rows


def _first_scores(scores: list[dict[str, Any]]) -> dict[str, tuple[object, int]]:
    """Each instrument's first score (time, total), from ``_score_records`` (oldest first per instrument)."""
    first: dict[str, tuple[object, int]] = {}
    for score in scores:
        first.setdefault(score["instrument"], (score["at"], score["total"]))
    return first


def reference_rows(assessments: pd.DataFrame, instruments: tuple[str, ...]) -> pd.DataFrame:
    """Per instrument: the baseline (its first score) and, where the instrument defines one, the response level."""
    columns = ["instrument", "line", "value", "detail"]
    first_scores = _first_scores(_score_records(assessments))
    return pd.DataFrame(_reference_records(first_scores, instruments), columns=columns)


def _score_tooltip(instrument: str) -> list[alt.Tooltip]:
    info = clinical.instrument_info(instrument)
    items = [
        alt.Tooltip(
            f"item_{n}:N",
            title=f"{n}. {label if len(label) <= ITEM_LABEL_CHARS else label[: ITEM_LABEL_CHARS - 1] + '…'}",
        )
        for n, label in enumerate(info.item_labels, start=1)
    ]
    return [
        alt.Tooltip("at:T", title="Date", format=CHART_DATE),
        alt.Tooltip("total:Q", title=instrument),
        alt.Tooltip("severity:N", title="Severity"),
        alt.Tooltip("from_baseline:N", title="Change from baseline"),
        alt.Tooltip("source:N", title="Source"),
        *items,
    ]


def _score_panel(instrument: str, x: alt.X, zoom: alt.Parameter | None, *, legends: bool) -> alt.LayerChart:
    """One instrument's panel. ``zoom`` goes on the score line (a layer with an x field, which a scale-bound
    selection needs); ``legends`` only on the first panel, since every score panel draws the same lines."""
    info = clinical.instrument_info(instrument)
    y_scale = alt.Scale(domain=[info.total_min or 0, info.total_max], nice=False)
    layers: list[alt.Chart] = []
    if info.bands:
        bands = pd.DataFrame(
            [
                {
                    "low": band.low - 0.5 if band.low > info.total_min else band.low,
                    "high": band.high + 0.5 if band.high < info.total_max else band.high,
                    "band": band.label,
                    "range": f"{band.low}–{band.high}",
                }
                for band in info.bands
            ]
        )
        layers.append(
            alt.Chart(bands)
            .mark_rect(opacity=0.9)
            .encode(
                y=alt.Y("low:Q", scale=y_scale, title=instrument),
                y2="high:Q",
                color=alt.Color(
                    "band:N",
                    scale=alt.Scale(domain=[b.label for b in info.bands], range=BAND_COLOURS[: len(info.bands)]),
                    legend=None,
                ),
                tooltip=[
                    alt.Tooltip("band:N", title=f"{instrument} severity"),
                    alt.Tooltip("range:N", title="Scores"),
                ],
            )
        )
        layers.append(
            alt.Chart(bands)
            .mark_text(align="left", dx=4, baseline="middle", color="#455a64", fontSize=10)
            .encode(y=alt.Y("mid:Q", scale=y_scale), x=alt.value(0), text="band:N")
            .transform_calculate(mid="(datum.low + datum.high) / 2")
        )
    layers.append(
        alt.Chart(alt.NamedData(name="changes"))
        .mark_rule(color=CHANGE_RULE_COLOUR, strokeDash=[4, 3], opacity=0.8, clip=True)
        .encode(x=x, tooltip=CHANGE_TOOLTIP)
    )
    # Baseline and 50 % response: horizontal rules across the whole window, told apart by colour and dash
    # pattern (one shared legend for every score panel).
    layers.append(
        alt.Chart(alt.NamedData(name="references"))
        .transform_filter(alt.datum.instrument == instrument)
        .mark_rule(strokeWidth=2)
        .encode(
            y=alt.Y("value:Q", scale=y_scale, title=instrument),
            strokeDash=alt.StrokeDash(
                "line:N",
                scale=alt.Scale(domain=list(REFERENCE_STYLES), range=[dash for _, dash in REFERENCE_STYLES.values()]),
                # Stacked, not side by side: a bottom legend row wider than the plot would make the chart
                # narrow itself to fit it (Vega's fit-x counts the legend's width).
                legend=alt.Legend(
                    title=None,
                    orient="bottom",
                    direction="vertical",
                    symbolStrokeWidth=2,
                    symbolStrokeColor="#546e7a",
                    labelLimit=0,
                )
                if legends
                else None,
            ),
            color=alt.condition(
                alt.datum.line == BASELINE,
                alt.value(REFERENCE_STYLES[BASELINE][0]),
                alt.value(REFERENCE_STYLES[RESPONSE][0]),
            ),
            tooltip=[alt.Tooltip("line:N", title="Line"), alt.Tooltip("detail:N", title="Score")],
        )
    )
    score_colour = SCORE_COLOUR if info.bands else SCORE_COLOUR_NO_BANDS
    line = (
        alt.Chart(alt.NamedData(name="scores"))
        .transform_filter(alt.datum.instrument == instrument)
        .mark_line(
            point=alt.OverlayMarkDef(size=40, filled=True, color=score_colour),
            color=score_colour,
            strokeWidth=2,
            clip=True,
        )
        .encode(
            x=x,
            y=alt.Y("total:Q", scale=y_scale, title=instrument),
            tooltip=_score_tooltip(instrument),
        )
    )
    layers.append(line.add_params(zoom) if zoom is not None else line)
    if instrument == "PHQ-9":
        layers.append(
            alt.Chart(alt.NamedData(name="scores"))
            .transform_filter((alt.datum.instrument == instrument) & (alt.datum.item9 > 0))
            .transform_calculate(marker=f"'{ITEM9_LABEL}'")
            .mark_point(filled=True, size=190, stroke=OUTLINE, strokeWidth=1, opacity=1, clip=True)
            .encode(
                x=x,
                y=alt.Y("total:Q", scale=y_scale),
                shape=alt.Shape(
                    "marker:N",
                    scale=alt.Scale(domain=[ITEM9_LABEL], range=[ITEM9_SHAPE]),
                    # Above the panel, apart from the score-line legend below it: side by side they were wider
                    # than the plot at 1024 px, and the chart narrowed itself to make room.
                    legend=alt.Legend(
                        title=None,
                        orient="top",
                        labelLimit=0,
                        symbolFillColor=ITEM9_COLOUR,
                        symbolStrokeColor=OUTLINE,
                        symbolSize=150,
                    ),
                ),
                fill=alt.Fill("marker:N", scale=alt.Scale(domain=[ITEM9_LABEL], range=[ITEM9_COLOUR]), legend=None),
                tooltip=_score_tooltip(instrument),
            )
        )
    return (
        alt.layer(*layers)
        .resolve_scale(color="independent")
        .properties(height=170, width="container", title=f"{instrument} total")
    )


# Stand-ins for the window and the panel heights in the cached template, replaced in its JSON text per chart.
_START, _END = "1901-01-01", "1901-01-02"
_MEDICATION_HEIGHT, _EFFECT_HEIGHT = 90_001, 90_002


@functools.lru_cache(maxsize=16)
def _template(instruments: tuple[str, ...]) -> str:
    """The chart's Vega-Lite spec without any patient's data (the data sets are named, not inline).

    Building and validating a layered Altair chart takes about half a second, so it is built once per set of
    instruments drawn and shared: the window and the lanes' heights are stand-ins replaced per chart (a template
    per window and height missed the cache for every patient with a short history). It holds no patient data,
    which is why caching it across users is safe.
    """
    start, end = _START, _END
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    domain = alt.Scale(domain=[start, end])
    # The same axis (and date format) on every panel.
    axis = alt.Axis(format=CHART_DATE, labelOverlap=True, labelFlush=True)
    x = alt.X("at:T", title=None, scale=domain, axis=axis)
    # One zoom parameter, on the first panel: the x scale is shared, so every panel pans and zooms with it.
    panels: list[alt.TopLevelMixin] = [
        _score_panel(instrument, x, zoom if index == 0 else None, legends=index == 0)
        for index, instrument in enumerate(instruments)
    ]
    lanes = (
        alt.Chart(alt.NamedData(name="periods"))
        .mark_bar(height=18, cornerRadius=3, color=LANE_COLOUR, clip=True)
        .encode(
            x=alt.X("start:T", title=None, scale=domain, axis=axis),
            x2="end:T",
            y=alt.Y("drug:N", title=None, sort=None),
            tooltip=[
                alt.Tooltip("drug:N", title="Medication"),
                alt.Tooltip("dose_label:N", title="Dose"),
                alt.Tooltip("start:T", title="From", format=CHART_DATE),
                alt.Tooltip("end:T", title="To", format=CHART_DATE),
                alt.Tooltip("reason:N", title="Reason"),
            ],
        )
    )
    lane_labels = (
        alt.Chart(alt.NamedData(name="periods"))
        # Inside the bar, dark on the lane colour: legible whatever the page background (light or dark theme).
        .mark_text(align="left", baseline="middle", dx=8, fontSize=10, color=OUTLINE, clip=True)
        .encode(x="start:T", y=alt.Y("drug:N", sort=None), text="dose_label:N")
    )
    change_points = (
        alt.Chart(alt.NamedData(name="changes"))
        .mark_point(
            filled=True, size=80, color=CHANGE_POINT_COLOUR, stroke=OUTLINE, strokeWidth=0.8, opacity=1, clip=True
        )
        .encode(
            x="at:T",
            y=alt.Y("drug:N", sort=None),
            shape=alt.Shape(
                "change:N",
                scale=alt.Scale(domain=list(CHANGE_SHAPES), range=list(CHANGE_SHAPES.values())),
                legend=alt.Legend(
                    title="Medication change",
                    orient="bottom",
                    symbolFillColor=CHANGE_POINT_COLOUR,
                    symbolStrokeColor=OUTLINE,
                ),
            ),
            tooltip=CHANGE_TOOLTIP,
        )
    )
    panels.append(
        alt.layer(lanes, lane_labels, change_points).properties(
            height=_MEDICATION_HEIGHT, width="container", title="Medications and doses"
        )
    )
    effects_panel = (
        alt.Chart(alt.NamedData(name="effects"))
        .mark_point(filled=True, size=110, opacity=1, stroke=OUTLINE, strokeWidth=0.8, clip=True)
        .encode(
            x=x,
            y=alt.Y("drug:N", title=None),
            color=alt.Color(
                "severity:N",
                scale=alt.Scale(domain=list(SEVERITY_COLOURS), range=list(SEVERITY_COLOURS.values())),
                legend=alt.Legend(title="Side effect", orient="bottom", symbolSize=130),
            ),
            shape=alt.Shape(
                "severity:N",
                scale=alt.Scale(domain=list(SEVERITY_SHAPES), range=list(SEVERITY_SHAPES.values())),
                legend=alt.Legend(title="Side effect", orient="bottom", symbolSize=130),
            ),
            tooltip=[
                alt.Tooltip("at:T", title="Date", format=CHART_DATE),
                alt.Tooltip("drug:N", title="Medication"),
                alt.Tooltip("symptom:N", title="Side effect"),
                alt.Tooltip("severity:N", title="Severity"),
            ],
        )
        .properties(height=_EFFECT_HEIGHT, width="container", title="Side-effect reports")
    )
    panels.append(effects_panel)
    chart = (
        alt.vconcat(*panels, spacing=10)
        .resolve_scale(x="shared", color="independent", shape="independent", strokeDash="independent")
        # Fit the page width: each panel is as wide as the container, axis labels and legends included.
        .properties(autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
    )
    return json.dumps(chart.to_dict())


def _iso(value: object) -> object:
    """A time as the ISO text the data sets carry (as pandas writes it: milliseconds, no zone); None stays None."""
    if value is None or value is pd.NaT or (not isinstance(value, datetime | date) and pd.isna(value)):  # type: ignore[call-overload]
        return None
    if not isinstance(value, datetime):  # a date
        return f"{value:%Y-%m-%d}T00:00:00.000"
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}"


def _json_value(value: object) -> object:
    """A cell as a JSON value: a missing one (None, NaN, NaT) as None, a numpy number as a Python one."""
    if value is None:
        return None
    if isinstance(value, float | np.floating) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def timeline_spec(
    assessments: pd.DataFrame, dose_changes: pd.DataFrame, side_effects: pd.DataFrame, *, start: datetime, end: datetime
) -> dict[str, Any]:
    """The chart's Vega-Lite spec for one patient: the shared template plus this patient's data sets.

    The data sets are built as plain records (no DataFrame per set): the chart is drawn on every chart view."""
    instruments = scales_shown(assessments)
    scores = _score_records(assessments)
    periods = _period_records(dose_changes, until=end)
    medication_rows = max(1, len({period["drug"] for period in periods}))
    effect_rows = max(1, side_effects["drug"].nunique() if not side_effects.empty else 1)
    # Whole days: the window moves with the clock, but the template need only change once a day.
    template = (
        _template(instruments)
        .replace(_START, start.date().isoformat())
        .replace(_END, end.date().isoformat())
        .replace(str(_MEDICATION_HEIGHT), str(30 * medication_rows + 10))
        .replace(str(_EFFECT_HEIGHT), str(max(40, 22 * effect_rows)))
    )
    spec: dict[str, Any] = json.loads(template)
    item_columns = sorted({key for score in scores for key in score if key.startswith("item_")}, key=_item_number)
    spec.setdefault("datasets", {}).update(
        {
            "scores": [
                {
                    **{key: _json_value(value) for key, value in score.items()},
                    "at": _iso(score["at"]),
                    **{column: score.get(column) for column in item_columns if column not in score},
                }
                for score in scores
            ],
            "references": _reference_records(_first_scores(scores), instruments),
            "changes": _change_records(dose_changes),
            "periods": [
                {
                    "drug": period["drug"],
                    "start": _iso(period["start"]),
                    "end": _iso(period["end"]),
                    "dose_label": period["dose_label"],
                    "reason": _json_value(period["reason"]),
                }
                for period in periods
            ],
            "effects": [
                {"at": _iso(at), "drug": drug, "symptom": symptom, "severity": _json_value(severity)}
                for at, drug, symptom, severity in zip(
                    side_effects["reported_at"],
                    side_effects["drug"],
                    side_effects["symptom"],
                    side_effects["severity"],
                    strict=True,
                )
            ]
            if not side_effects.empty
            else [],
        }
    )
    return spec


def arrow_datasets(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with each data set as Arrow IPC bytes, which st.vega_lite_chart sends as they are.

    Left as records, Streamlit built a DataFrame per data set and converted that (about a tenth of a chart view).
    The template's own data sets (the severity bands) are named by a hash of their content and hold no patient
    data, so their bytes are kept."""
    datasets = {
        name: _template_dataset_bytes(name, json.dumps(rows)) if name.startswith("data-") else _arrow_bytes(rows)
        for name, rows in spec.get("datasets", {}).items()
    }
    return {**spec, "datasets": datasets} if datasets else spec


def _arrow_bytes(rows: list[dict[str, Any]]) -> bytes:
    return dataframe_util.convert_arrow_table_to_arrow_bytes(pa.Table.from_pylist(rows))


@functools.lru_cache(maxsize=64)
def _template_dataset_bytes(name: str, rows: str) -> bytes:
    return _arrow_bytes(json.loads(rows))


def _item_number(column: str) -> int:
    return int(column.removeprefix("item_"))


RANGES = {"Last 3 months": 91, "Last 6 months": 182, "Last year": 365, "Last 2 years": 730, "All": None}


def default_range(first: datetime | None, now: datetime) -> str:
    """Show the whole course when it fits in six months, else the last six months (zoom out for more)."""
    if first is None or now - first <= timedelta(days=182):
        return "All"
    return "Last 6 months"


def time_window(choice: str, first: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    days = RANGES.get(choice)
    end = now + timedelta(days=3)
    earliest = (first or now - timedelta(days=28)) - timedelta(days=3)
    return (earliest if days is None else now - timedelta(days=days)), end
