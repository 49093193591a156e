"""The supervisor's program overview: figures per prescriber and per nurse, drill-down, outcomes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import streamlit as st

from components.downloads import audited_csv_download
from components.forms import escape_markdown
from db.engine import utcnow
from db.models import PROGRAM_PHASES
from db.permissions import Actor
from db.queries.caseload import program_today
from db.queries.program import (
    CHECKIN_SHARE,
    CHECKIN_WINDOW_DAYS,
    METRICS,
    drill_down,
    outcome_rates,
    outcomes,
    overview_by,
    patient_metrics,
    program_figures,
    refill_turnaround,
)

CHART_PAGE = "pages/clinical/patient_chart.py"


def render_overview(actor: Actor) -> None:
    today = program_today()
    filters = st.columns([2, 1, 1])
    phases = filters[0].multiselect(
        "Program phase",
        [p for p in PROGRAM_PHASES if p != "discharged"],
        key="overview_phases",
        placeholder="All active phases",
    )
    admitted_from = filters[1].date_input("Admitted from", value=today - timedelta(days=365), key="overview_from")
    admitted_to = filters[2].date_input("Admitted to", value=today, key="overview_to")
    filters = {"phases": phases or None, "admitted_from": admitted_from, "admitted_to": admitted_to}
    figures = program_figures(actor, **filters)  # type: ignore[arg-type]
    turnaround = refill_turnaround(actor, since=utcnow() - timedelta(days=90))
    totals = figures[list(METRICS)].sum() if not figures.empty else None
    if totals is not None:
        cards = st.columns(7)
        for column, (metric, label) in zip(cards, list(METRICS.items())[:1] + list(METRICS.items())[2:7], strict=False):
            column.metric(label, int(totals[metric]))
        sent, answered = int(totals["checkin_links_sent"]), int(totals["checkin_links_answered"])
        cards[6].metric(
            CHECKIN_SHARE,
            f"{100 * answered / sent:.0f} %" if sent else "—",
            help=f"{answered} of {sent} check-in links sent to patients in the last {CHECKIN_WINDOW_DAYS} days "
            "were answered (per prescriber in the table below)",
        )
    by_prescriber = overview_by(figures, "prescriber", turnaround)
    by_nurse = overview_by(figures, "nurse")
    st.subheader("By prescriber")
    st.dataframe(by_prescriber, hide_index=True, width="stretch", key="overview_prescribers")
    audited_csv_download(actor, by_prescriber, name="overview_by_prescriber", key="overview_prescribers_csv")
    st.subheader("By nurse")
    st.dataframe(by_nurse, hide_index=True, width="stretch", key="overview_nurses")
    audited_csv_download(actor, by_nurse, name="overview_by_nurse", key="overview_nurses_csv")

    st.subheader("Drill down")
    columns = st.columns(3)
    group = columns[0].radio("Group", ["prescriber", "nurse"], horizontal=True, key="drill_group")
    # Staff by id (a name may be shared), shown by name; None is the unassigned patients.
    names = dict(zip(figures[f"{group}_id"], figures[group], strict=True)) if not figures.empty else {}
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
        event = st.dataframe(
            patients,
            hide_index=True,
            width="stretch",
            key="drill_table",
            on_select="rerun",
            selection_mode="single-row",
        )
        audited_csv_download(actor, patients, name="drill_down", key="drill_csv")
        if event is not None and event.selection.rows:
            st.switch_page(CHART_PAGE, query_params={"patient": str(patients.iloc[event.selection.rows[0]]["mrn"])})
    render_outcomes(actor, phases=phases or None, admitted_from=admitted_from, admitted_to=admitted_to)


def render_outcomes(actor: Actor, **filters: object) -> None:
    st.subheader("Outcomes (measurement-based care)")
    st.caption(
        "Patients with a baseline score of 10 or more and a score in the last 60 days. Response: at least "
        "50 % reduction from baseline; remission: latest score below 5."
    )
    every_measure = outcomes(actor, instrument=None, **filters)  # type: ignore[arg-type]
    for instrument in ("PHQ-9", "GAD-7"):
        table = every_measure[every_measure["measure"] == instrument]
        program = outcome_rates(table)
        per_prescriber = outcome_rates(table, "prescriber")
        by_month = outcome_rates(table, "admission_month")
        st.markdown(f"**{instrument}**")
        left, right = st.columns(2)
        with left:
            st.dataframe(program, hide_index=True, width="stretch", key=f"outcomes_{instrument}_program")
            st.dataframe(per_prescriber, hide_index=True, width="stretch", key=f"outcomes_{instrument}_prescriber")
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
        "title": f"{instrument} response and remission by month of admission",
        "encoding": {
            "x": {"field": "admission_month", "type": "ordinal", "title": "Month of admission"},
            "y": {"field": "percent", "type": "quantitative", "title": "% of patients", "scale": {"domain": [0, 100]}},
            "color": {"field": "outcome", "type": "nominal", "title": None},
            "tooltip": [
                {"field": "admission_month", "type": "ordinal"},
                {"field": "outcome", "type": "nominal"},
                {"field": "percent", "type": "quantitative"},
                {"field": "patients", "type": "quantitative"},
            ],
        },
    }
