"""The supervisor's program overview: figures per prescriber and per nurse, drill-down, outcomes."""

from __future__ import annotations

from datetime import timedelta

import altair as alt
import streamlit as st

from components.downloads import audited_csv_download
from components.forms import escape_markdown
from components.tables import DATE, labelled_table
from db.engine import utcnow
from db.models import PROGRAM_PHASES
from db.permissions import Actor
from db.queries.caseload import program_today
from db.queries.program import (
    METRICS,
    drill_down,
    outcome_rates,
    outcomes,
    overview_by,
    patient_metrics,
    refill_turnaround,
)

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
    admitted_from = filters[1].date_input("Admitted from", value=today - timedelta(days=365), key="overview_from")
    admitted_to = filters[2].date_input("Admitted to", value=today, key="overview_to")
    metrics = patient_metrics(actor, phases=phases or None, admitted_from=admitted_from, admitted_to=admitted_to)
    turnaround = refill_turnaround(actor, since=utcnow() - timedelta(days=90))
    totals = metrics[list(METRICS)].sum() if not metrics.empty else None
    if totals is not None:
        # A row that wraps: six fixed columns cut the labels ("Open urge…") at 1024 px.
        cards = st.container(horizontal=True, gap="medium")
        for metric, label in list(METRICS.items())[:1] + list(METRICS.items())[2:7]:
            cards.metric(label, int(totals[metric]), width="content")
    by_prescriber = overview_by(metrics, "prescriber", turnaround)
    by_nurse = overview_by(metrics, "nurse")
    st.subheader("By prescriber")
    labelled_table(by_prescriber, overview_columns("prescriber"), key="overview_prescribers")
    audited_csv_download(actor, by_prescriber, name="overview_by_prescriber", key="overview_prescribers_csv")
    st.subheader("By nurse")
    labelled_table(by_nurse, overview_columns("nurse"), key="overview_nurses")
    audited_csv_download(actor, by_nurse, name="overview_by_nurse", key="overview_nurses_csv")

    st.subheader("Drill down")
    columns = st.columns([1, 2, 2])
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
        event = labelled_table(
            patients, drill_columns(metric), key="drill_table", on_select="rerun", selection_mode="single-row"
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
            labelled_table(program, outcome_columns("scope"), key=f"outcomes_{instrument}_program")
            labelled_table(per_prescriber, outcome_columns("prescriber"), key=f"outcomes_{instrument}_prescriber")
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
                        color=alt.Color("outcome:N", title=None, legend=alt.Legend(orient="bottom")),
                        tooltip=[
                            alt.Tooltip("admission_month:O", title="Month of admission"),
                            alt.Tooltip("outcome:N", title="Outcome"),
                            alt.Tooltip("percent:Q", title="% of patients", format=".1f"),
                            alt.Tooltip("patients:Q", title="Patients"),
                        ],
                    )
                    .properties(
                        height=220,
                        # Two lines: one long line was cut off in half the page at 1024 px.
                        title=alt.Title([f"{instrument} response and remission", "by month of admission"]),
                    )
                )
                st.altair_chart(chart, width="stretch", theme="streamlit")
