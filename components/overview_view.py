"""The supervisor's program overview: figures per prescriber and per nurse, drill-down, outcomes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from components.downloads import audited_csv_download
from components.forms import escape_markdown
from components.tables import DATE, labelled_table, local_time
from db.engine import utcnow
from db.models import PROGRAM_PHASES
from db.permissions import Actor
from db.program_snapshot import recompute_overview
from db.queries.caseload import program_today
from db.queries.program import (
    CHECKIN_SHARE,
    CHECKIN_WINDOW_DAYS,
    DEFAULT_ADMISSION_WINDOW_DAYS,
    METRICS,
    OUTCOME_MIN_BASELINE,
    OUTCOME_RECENT_DAYS,
    drill_down,
    outcome_rates,
    overview_by,
    overview_data,
    patient_metrics,
)
from db.settings import get_settings

CHART_PAGE = "pages/clinical/patient_chart.py"
PERCENT = "%.1f %%"


def overview_columns(group: str) -> dict[str, object]:
    """Human labels for a per-prescriber or per-nurse table: who first, then each figure."""
    return {
        group: st.column_config.TextColumn(group.title()),
        **{
            label: st.column_config.NumberColumn(label, format="%d")
            for key, label in METRICS.items()
            if key != "phq9_last_30_days"
        },
        "% with PHQ-9 in last 30 days": st.column_config.NumberColumn("% with PHQ-9 in last 30 days", format=PERCENT),
        CHECKIN_SHARE: st.column_config.NumberColumn(CHECKIN_SHARE, format=PERCENT),
        "Median refill turnaround (h)": st.column_config.NumberColumn("Median refill turnaround", format="%.1f h"),
    }


def drill_columns(metric: str) -> dict[str, object]:
    return {
        "patient": st.column_config.TextColumn("Patient"),
        metric: st.column_config.NumberColumn(METRICS[metric], format="%d"),
        "next_visit_due": st.column_config.DateColumn("Next visit due", format=DATE),
        "program_phase": st.column_config.TextColumn("Phase"),
        "program_start_date": st.column_config.DateColumn("Admitted", format=DATE),
        "prescriber": st.column_config.TextColumn("Prescriber"),
        "nurse": st.column_config.TextColumn("Nurse"),
        "mrn": st.column_config.TextColumn("MRN"),
    }


def outcome_columns(by: str) -> dict[str, object]:
    return {
        by: st.column_config.TextColumn("Program" if by == "scope" else by.title()),
        "patients": st.column_config.NumberColumn("Patients", format="%d"),
        "response %": st.column_config.NumberColumn("Response", format=PERCENT, help="At least 50 % below baseline"),
        "remission %": st.column_config.NumberColumn("Remission", format=PERCENT, help="Latest score below 5"),
    }


def render_overview(actor: Actor) -> None:
    today = program_today()
    filters = st.columns([2, 1, 1])
    phases = filters[0].multiselect(
        "Program phase",
        [p for p in PROGRAM_PHASES if p != "discharged"],
        key="overview_phases",
        placeholder="All active phases",
    )
    admitted_from = filters[1].date_input(
        "Admitted from", value=today - timedelta(days=DEFAULT_ADMISSION_WINDOW_DAYS), key="overview_from"
    )
    admitted_to = filters[2].date_input("Admitted to", value=today, key="overview_to")
    filters = {"phases": phases or None, "admitted_from": admitted_from, "admitted_to": admitted_to}
    data = overview_data(actor, **filters)  # type: ignore[arg-type]
    freshness_note(actor, data.as_of, data.turnaround_as_of)
    totals = data.by["prescriber"][list(METRICS)].sum() if not data.by["prescriber"].empty else None
    if totals is not None:
        # A row that wraps: fixed columns cut the labels ("Open urge…") at 1024 px.
        cards = st.container(horizontal=True, gap="medium")
        for metric, label in list(METRICS.items())[:1] + list(METRICS.items())[2:7]:
            cards.metric(label, int(totals[metric]), width="content")
        sent, answered = int(totals["checkin_links_sent"]), int(totals["checkin_links_answered"])
        cards.metric(
            CHECKIN_SHARE,
            f"{100 * answered / sent:.0f} %" if sent else "—",
            help=f"{answered} of {sent} check-in links sent to patients in the last {CHECKIN_WINDOW_DAYS} days "
            "were answered (per prescriber in the table below)",
            width="content",
        )
    by_prescriber = overview_by(data.by["prescriber"], "prescriber", data.turnaround)
    by_nurse = overview_by(data.by["nurse"], "nurse")
    st.subheader("By prescriber")
    labelled_table(by_prescriber, overview_columns("prescriber"), key="overview_prescribers")
    audited_csv_download(actor, by_prescriber, name="overview_by_prescriber", key="overview_prescribers_csv")
    st.subheader("By nurse")
    labelled_table(by_nurse, overview_columns("nurse"), key="overview_nurses")
    audited_csv_download(actor, by_nurse, name="overview_by_nurse", key="overview_nurses_csv")

    st.subheader("Drill down")
    columns = st.columns([1, 2, 2])
    group = columns[0].radio("Group", ["prescriber", "nurse"], horizontal=True, key="drill_group")
    # Staff by id (a name may be shared), shown by name; None is the unassigned patients.
    names = dict(zip(data.by[group][f"{group}_id"], data.by[group][group], strict=True))
    staff_ids = sorted(names, key=lambda uid: (names[uid], uid or 0))
    # Nothing chosen at first: a caseload's patients are read only when someone asks for them.
    staff_id = columns[1].selectbox(
        group.title(),
        staff_ids,
        index=None,
        format_func=names.__getitem__,
        placeholder=f"Choose a {group}",
        key="drill_name",
    )
    metric = columns[2].selectbox("Figure", list(METRICS), format_func=METRICS.__getitem__, key="drill_metric")
    if staff_id in names:
        # Only the chosen caseload's patients are read.
        metrics = patient_metrics(actor, staff_member=(group, staff_id), **filters)  # type: ignore[arg-type]
        patients = drill_down(metrics, group, names[staff_id], metric)
        st.caption(
            f"{len(patients)} patients behind “{METRICS[metric]}” for {escape_markdown(names[staff_id])}. "
            "Select one to open the chart."
        )
        event = labelled_table(
            patients, drill_columns(metric), key="drill_table", on_select="rerun", selection_mode="single-row"
        )
        audited_csv_download(actor, patients, name="drill_down", key="drill_csv")
        if event is not None and event.selection.rows:
            st.switch_page(CHART_PAGE, query_params={"patient": str(patients.iloc[event.selection.rows[0]]["mrn"])})
    render_outcomes(actor, data.outcomes)


def freshness_note(actor: Actor, as_of: datetime | None, turnaround_as_of: datetime | None) -> None:
    """Say how old the figures are; a supervisor can have the snapshot recomputed at once."""
    if as_of is None:
        turnaround = (
            f"; the median refill turnaround (all patients, whatever the filters) as of {local_time(turnaround_as_of)}"
            if turnaround_as_of is not None
            else ""
        )
        st.caption(f"Figures computed now ({local_time(utcnow())}){turnaround}.")
        return
    interval = get_settings().overview_refresh_seconds
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.caption(
        f"Figures as of {local_time(as_of)}, recomputed for the whole program "
        + (f"every {interval} seconds." if interval else "on a schedule.")
        + " Other filters are computed when chosen."
    )
    right.button(
        "Recompute now",
        key="overview_recompute",
        icon=":material/refresh:",
        on_click=recompute_overview,
        args=(actor,),
    )


def render_outcomes(actor: Actor, counts: dict[tuple[str, str], pd.DataFrame]) -> None:
    st.subheader("Outcomes (measurement-based care)")
    st.caption(
        f"Patients with a baseline score of {OUTCOME_MIN_BASELINE} or more and a score in the last "
        f"{OUTCOME_RECENT_DAYS} days. Response: at least 50 % reduction from baseline; remission: latest score below 5."
    )
    for instrument in ("PHQ-9", "GAD-7"):
        program = outcome_rates(counts[(instrument, "scope")])
        per_prescriber = outcome_rates(counts[(instrument, "prescriber")], "prescriber")
        by_month = outcome_rates(counts[(instrument, "admission_month")], "admission_month")
        st.markdown(f"**{instrument}**")
        left, right = st.columns(2)
        with left:
            labelled_table(program, outcome_columns("scope"), key=f"outcomes_{instrument}_program")
            labelled_table(per_prescriber, outcome_columns("prescriber"), key=f"outcomes_{instrument}_prescriber")
            audited_csv_download(actor, per_prescriber, name=f"outcomes_{instrument}", key=f"outcomes_{instrument}_csv")
        with right:
            if not by_month.empty:
                st.vega_lite_chart(spec=outcome_trend_spec(instrument, by_month), width="stretch")


def outcome_trend_spec(instrument: str, by_month: pd.DataFrame) -> dict[str, Any]:
    """Response and remission by month of admission, as a Vega-Lite spec written out (Altair's validation of
    the same chart took longer than the figures behind it)."""
    values = [
        {"admission_month": month, "patients": int(patients), "outcome": outcome, "percent": float(percent)}
        for month, patients, response, remission in by_month[
            ["admission_month", "patients", "response %", "remission %"]
        ].itertuples(index=False, name=None)
        for outcome, percent in (("response %", response), ("remission %", remission))
    ]
    return {
        "data": {"values": values},
        "mark": {"type": "line", "point": True},
        "height": 220,
        # Two lines: one long line was cut off in half the page at 1024 px.
        "title": {"text": [f"{instrument} response and remission", "by month of admission"]},
        "encoding": {
            "x": {"field": "admission_month", "type": "ordinal", "title": "Month of admission"},
            "y": {"field": "percent", "type": "quantitative", "title": "% of patients", "scale": {"domain": [0, 100]}},
            "color": {"field": "outcome", "type": "nominal", "title": None, "legend": {"orient": "bottom"}},
            "tooltip": [
                {"field": "admission_month", "type": "ordinal"},
                {"field": "outcome", "type": "nominal"},
                {"field": "percent", "type": "quantitative"},
                {"field": "patients", "type": "quantitative"},
            ],
        },
    }
