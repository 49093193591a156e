"""The supervisor's program overview: figures per prescriber and per nurse, drill-down, outcomes."""

from __future__ import annotations

from datetime import timedelta

import altair as alt
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
    metrics = patient_metrics(actor, phases=phases or None, admitted_from=admitted_from, admitted_to=admitted_to)
    turnaround = refill_turnaround(actor, since=utcnow() - timedelta(days=90))
    totals = metrics[list(METRICS)].sum() if not metrics.empty else None
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
    by_prescriber = overview_by(metrics, "prescriber", turnaround)
    by_nurse = overview_by(metrics, "nurse")
    st.subheader("By prescriber")
    st.dataframe(by_prescriber, hide_index=True, width="stretch", key="overview_prescribers")
    audited_csv_download(actor, by_prescriber, name="overview_by_prescriber", key="overview_prescribers_csv")
    st.subheader("By nurse")
    st.dataframe(by_nurse, hide_index=True, width="stretch", key="overview_nurses")
    audited_csv_download(actor, by_nurse, name="overview_by_nurse", key="overview_nurses_csv")

    st.subheader("Drill down")
    columns = st.columns(3)
    group = columns[0].radio("Group", ["prescriber", "nurse"], horizontal=True, key="drill_group")
    names = sorted(metrics[group].unique()) if not metrics.empty else []
    name = columns[1].selectbox(group.title(), names, key="drill_name")
    metric = columns[2].selectbox("Figure", list(METRICS), format_func=METRICS.__getitem__, key="drill_metric")
    if name:
        patients = drill_down(metrics, group, name, metric)
        st.caption(
            f"{len(patients)} patients behind “{METRICS[metric]}” for {escape_markdown(name)}. "
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
    for instrument in ("PHQ-9", "GAD-7"):
        table = outcomes(actor, instrument=instrument, **filters)  # type: ignore[arg-type]
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
                long = by_month.melt(
                    id_vars=["admission_month", "patients"],
                    value_vars=["response %", "remission %"],
                    var_name="outcome",
                    value_name="percent",
                )
                chart = (
                    alt.Chart(long)
                    .mark_line(point=True)
                    .encode(
                        x=alt.X("admission_month:O", title="Month of admission"),
                        y=alt.Y("percent:Q", title="% of patients", scale=alt.Scale(domain=[0, 100])),
                        color=alt.Color("outcome:N", title=None),
                        tooltip=["admission_month:O", "outcome:N", "percent:Q", "patients:Q"],
                    )
                    .properties(height=220, title=f"{instrument} response and remission by month of admission")
                )
                st.altair_chart(chart, width="stretch")
