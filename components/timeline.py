"""One timeline: symptom scores over their severity bands, with every medication change on the same axis.

Panels share one time axis (drag to pan, scroll to zoom): PHQ-9 and GAD-7 over their severity bands with
a vertical rule at every medication start, dose change and stop; medication lanes showing each dose
period; and side-effect reports coloured by severity. Hovering any mark shows its details.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta
from typing import Any

import altair as alt
import pandas as pd

import clinical

BAND_COLOURS = ["#e8f5e9", "#fff8e1", "#ffe0b2", "#ffccbc", "#ffcdd2"]
SEVERITY_COLOURS = {"mild": "#f9a825", "moderate": "#ef6c00", "severe": "#c62828"}
CHANGE_SHAPES = {
    "start": "triangle-right",
    "increase": "triangle-up",
    "decrease": "triangle-down",
    "change": "diamond",
    "stop": "square",
}
MEASURES = ("PHQ-9", "GAD-7")
# Hovering a medication change (a dashed rule or a lane marker) shows the drug, old and new dose and why.
CHANGE_TOOLTIP = [
    alt.Tooltip("at:T", title="Date", format="%Y-%m-%d"),
    alt.Tooltip("drug:N", title="Medication"),
    alt.Tooltip("change:N", title="Change"),
    alt.Tooltip("from_dose:N", title="From"),
    alt.Tooltip("to_dose:N", title="To"),
    alt.Tooltip("reason:N", title="Reason"),
    alt.Tooltip("author:N", title="By"),
]
PANEL_WIDTH = 860  # fixed width; the page shows it at its own size (a "container" width overflows a vconcat)


def dose_periods(dose_changes: pd.DataFrame, *, until: datetime) -> pd.DataFrame:
    """Turn the dose history into periods (drug, dose, from, to) for the medication lanes."""
    columns = ["drug", "start", "end", "dose_label", "reason", "daily_mg"]
    if dose_changes.empty:
        return pd.DataFrame(columns=columns)
    periods = []
    for _, history in dose_changes.sort_values(["changed_at", "id"]).groupby("prescription_id", sort=False):
        rows = history.to_dict("records")
        for current, following in zip(rows, [*rows[1:], None], strict=True):
            if current["change_type"] == "stop":
                continue
            end = following["changed_at"] if following is not None else until
            periods.append(
                {
                    "drug": current["drug"],
                    "start": current["changed_at"],
                    "end": end,
                    "dose_label": f"{current['new_dose']:g} {current['unit']} {current['new_frequency'] or ''}".strip(),
                    "reason": current["reason"],
                    "daily_mg": current["new_daily_mg"],
                }
            )
    return pd.DataFrame(periods, columns=columns)


def _change_marks(dose_changes: pd.DataFrame) -> pd.DataFrame:
    if dose_changes.empty:
        return pd.DataFrame(columns=["at", "drug", "change", "from_dose", "to_dose", "reason", "author"])

    def dose_text(dose: object, unit: str, frequency: object) -> str:
        if dose is None or pd.isna(dose):
            return "—"
        return f"{float(dose):g} {unit} {frequency or ''}".strip()

    return pd.DataFrame(
        {
            "at": dose_changes["changed_at"],
            "drug": dose_changes["drug"],
            "change": dose_changes["change_type"],
            "from_dose": [
                dose_text(d, u, f)
                for d, u, f in zip(
                    dose_changes["old_dose"], dose_changes["unit"], dose_changes["old_frequency"], strict=True
                )
            ],
            "to_dose": [
                dose_text(d, u, f)
                for d, u, f in zip(
                    dose_changes["new_dose"], dose_changes["unit"], dose_changes["new_frequency"], strict=True
                )
            ],
            "reason": dose_changes["reason"],
            "author": dose_changes.get("author", pd.Series([""] * len(dose_changes))),
        }
    )


def _score_panel(instrument: str, x: alt.X, zoom: alt.Parameter | None) -> alt.LayerChart:
    info = clinical.instrument_info(instrument)
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
    y_scale = alt.Scale(domain=[info.total_min, info.total_max], nice=False)
    band_layer = (
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
            tooltip=[alt.Tooltip("band:N", title=f"{instrument} severity"), alt.Tooltip("range:N", title="Scores")],
        )
    )
    band_labels = (
        alt.Chart(bands)
        .mark_text(align="left", dx=4, baseline="middle", color="#607d8b", fontSize=10)
        .encode(y=alt.Y("mid:Q", scale=y_scale), x=alt.value(0), text="band:N")
        .transform_calculate(mid="(datum.low + datum.high) / 2")
    )
    change_rules = (
        alt.Chart(alt.NamedData(name="changes"))
        .mark_rule(color="#5c6bc0", strokeDash=[4, 3], opacity=0.7)
        .encode(
            x=x,
            tooltip=CHANGE_TOOLTIP,
        )
    )
    line = (
        alt.Chart(alt.NamedData(name="scores"))
        .transform_filter(alt.datum.instrument == instrument)
        .mark_line(point=alt.OverlayMarkDef(size=36, filled=True), color="#263238", strokeWidth=2)
        .encode(
            x=x,
            y=alt.Y("total:Q", scale=y_scale),
            tooltip=[
                alt.Tooltip("at:T", title="Date", format="%Y-%m-%d"),
                alt.Tooltip("total:Q", title=instrument),
                alt.Tooltip("severity:N", title="Severity"),
                alt.Tooltip("source:N", title="Source"),
            ],
        )
    )
    panel = alt.layer(band_layer, band_labels, change_rules, line).properties(
        height=170, width=PANEL_WIDTH, title=f"{instrument} total"
    )
    return panel.add_params(zoom) if zoom is not None else panel


# Stand-ins for the window and the panel heights in the cached template, replaced in its JSON text per chart.
_START, _END = "1901-01-01", "1901-01-02"
_MEDICATION_HEIGHT, _EFFECT_HEIGHT = 90_001, 90_002


@functools.lru_cache(maxsize=1)
def _template() -> str:
    """The chart's Vega-Lite spec without any patient's data (the data sets are named, not inline).

    Building and validating a layered Altair chart takes about half a second, so it is built once per process
    and shared: the window and the lanes' heights are stand-ins replaced per chart (a template per window and
    height missed the cache for every patient with a short history). It holds no patient data, which is why
    caching it across users is safe.
    """
    start, end = _START, _END
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    domain = alt.Scale(domain=[start, end])
    x = alt.X("at:T", title=None, scale=domain, axis=alt.Axis(format="%b %d", labelOverlap=True))
    # One zoom parameter, on the first panel: the x scale is shared, so every panel pans and zooms with it.
    panels: list[alt.TopLevelMixin] = [
        _score_panel(instrument, x, zoom if index == 0 else None) for index, instrument in enumerate(MEASURES)
    ]
    lanes = (
        alt.Chart(alt.NamedData(name="periods"))
        .mark_bar(height=14, cornerRadius=3, color="#9fa8da")
        .encode(
            x=alt.X("start:T", title=None, scale=domain),
            x2="end:T",
            y=alt.Y("drug:N", title=None, sort=None),
            tooltip=[
                alt.Tooltip("drug:N", title="Medication"),
                alt.Tooltip("dose_label:N", title="Dose"),
                alt.Tooltip("start:T", title="From", format="%Y-%m-%d"),
                alt.Tooltip("end:T", title="To", format="%Y-%m-%d"),
                alt.Tooltip("reason:N", title="Reason"),
            ],
        )
    )
    lane_labels = (
        alt.Chart(alt.NamedData(name="periods"))
        .mark_text(align="left", dx=3, fontSize=10, color="#1a237e")
        .encode(x="start:T", y=alt.Y("drug:N", sort=None), text="dose_label:N")
    )
    change_points = (
        alt.Chart(alt.NamedData(name="changes"))
        .mark_point(filled=True, size=70, color="#283593")
        .encode(
            x="at:T",
            y=alt.Y("drug:N", sort=None),
            shape=alt.Shape(
                "change:N",
                scale=alt.Scale(domain=list(CHANGE_SHAPES), range=list(CHANGE_SHAPES.values())),
                legend=alt.Legend(title="Medication change", orient="bottom"),
            ),
            tooltip=CHANGE_TOOLTIP,
        )
    )
    panels.append(
        alt.layer(lanes, lane_labels, change_points).properties(
            height=_MEDICATION_HEIGHT, width=PANEL_WIDTH, title="Medications and doses"
        )
    )
    effects_panel = (
        alt.Chart(alt.NamedData(name="effects"))
        .mark_circle(size=90, opacity=0.9)
        .encode(
            x=x,
            y=alt.Y("drug:N", title=None),
            color=alt.Color(
                "severity:N",
                scale=alt.Scale(domain=list(SEVERITY_COLOURS), range=list(SEVERITY_COLOURS.values())),
                legend=alt.Legend(title="Side effect", orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("at:T", title="Date", format="%Y-%m-%d"),
                alt.Tooltip("drug:N", title="Medication"),
                alt.Tooltip("symptom:N", title="Side effect"),
                alt.Tooltip("severity:N", title="Severity"),
            ],
        )
        .properties(height=_EFFECT_HEIGHT, width=PANEL_WIDTH, title="Side-effect reports")
    )
    panels.append(effects_panel)
    chart = alt.vconcat(*panels, spacing=8).resolve_scale(x="shared", color="independent", shape="independent")
    return json.dumps(chart.to_dict())


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    """Rows as JSON values (times as ISO strings, missing values as null) for the spec's data sets."""
    if frame.empty:
        return []
    return json.loads(frame[columns].to_json(orient="records", date_format="iso"))


def timeline_spec(
    assessments: pd.DataFrame, dose_changes: pd.DataFrame, side_effects: pd.DataFrame, *, start: datetime, end: datetime
) -> dict[str, Any]:
    """The chart's Vega-Lite spec for one patient: the shared template plus this patient's data sets."""
    scores = assessments.rename(columns={"administered_at": "at"})
    periods = dose_periods(dose_changes, until=end)
    effects = side_effects.rename(columns={"reported_at": "at"})
    medication_rows = max(1, periods["drug"].nunique() if not periods.empty else 1)
    effect_rows = max(1, effects["drug"].nunique() if not effects.empty else 1)
    # Whole days: the window moves with the clock, but the template need only change once a day.
    template = (
        _template()
        .replace(_START, start.date().isoformat())
        .replace(_END, end.date().isoformat())
        .replace(str(_MEDICATION_HEIGHT), str(26 * medication_rows + 10))
        .replace(str(_EFFECT_HEIGHT), str(max(40, 22 * effect_rows)))
    )
    spec: dict[str, Any] = json.loads(template)
    spec.setdefault("datasets", {}).update(
        {
            "scores": _records(scores, ["at", "instrument", "total", "severity", "source"]),
            "changes": _records(
                _change_marks(dose_changes), ["at", "drug", "change", "from_dose", "to_dose", "reason", "author"]
            ),
            "periods": _records(periods, ["drug", "start", "end", "dose_label", "reason"]),
            "effects": _records(effects, ["at", "drug", "symptom", "severity"]),
        }
    )
    return spec


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
