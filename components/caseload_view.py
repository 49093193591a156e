"""The caseload table with its filters, patient selection and CSV download."""

from __future__ import annotations

import functools

import pandas as pd
import streamlit as st

from components.auth import session_fragment
from components.downloads import audited_csv_download
from components.tables import DATE, WRAPPED_ROW_HEIGHT, labelled_table
from db.permissions import Actor
from db.queries.caseload import CASELOAD_COLUMNS

CHART_PAGE = "pages/clinical/patient_chart.py"
# On screen, what a prescriber reads first: who, how urgent, what they take, the latest scores, what is due; then
# the rest. Columns not listed (ids, sort keys) are not shown; the CSV keeps the query's order and every column.
COLUMNS = {
    "Patient": st.column_config.TextColumn("Patient"),
    "Top flag": st.column_config.TextColumn("Top flag", help="Highest open flag: meter and word"),
    "Open flags": st.column_config.NumberColumn("Open flags", format="%d"),
    "Medications": st.column_config.TextColumn("Current medications", width="large"),
    "PHQ-9": st.column_config.NumberColumn("PHQ-9", format="%d"),
    "PHQ-9 severity": st.column_config.TextColumn("PHQ-9 severity"),
    "PHQ-9 Δ prev": st.column_config.NumberColumn("PHQ-9 Δ last", format="%+d", help="Change since the last score"),
    "PHQ-9 Δ baseline": st.column_config.NumberColumn("PHQ-9 Δ base", format="%+d", help="Change since baseline"),
    "GAD-7": st.column_config.NumberColumn("GAD-7", format="%d"),
    "GAD-7 severity": st.column_config.TextColumn("GAD-7 severity"),
    "GAD-7 Δ prev": st.column_config.NumberColumn("GAD-7 Δ last", format="%+d", help="Change since the last score"),
    "GAD-7 Δ baseline": st.column_config.NumberColumn("GAD-7 Δ base", format="%+d", help="Change since baseline"),
    "Next visit due": st.column_config.DateColumn("Next visit due", format=DATE),
    "Visit overdue": st.column_config.CheckboxColumn("Visit overdue"),
    "Measures overdue": st.column_config.TextColumn("Measures overdue"),
    "Check-in": st.column_config.TextColumn(
        "Check-in",
        help="PHQ-9/GAD-7 between visits: due, sent (a link waits for the patient), answered, overdue "
        "(a link expired unused, or a week past due) or up to date",
    ),
    "Labs overdue": st.column_config.NumberColumn("Labs overdue", format="%d"),
    "Labs pending": st.column_config.NumberColumn("Labs pending", format="%d"),
    "Refills pending": st.column_config.NumberColumn("Refills pending", format="%d"),
    "Last visit": st.column_config.DateColumn("Last visit", format=DATE),
    "MRN": st.column_config.TextColumn("MRN"),
    "Age": st.column_config.NumberColumn("Age", format="%d"),
    "Phase": st.column_config.TextColumn("Phase"),
    "Week": st.column_config.NumberColumn("Week", format="%d"),
    "Primary diagnosis": st.column_config.TextColumn("Primary diagnosis", width="medium"),
}
DISPLAY_ORDER = list(COLUMNS)
# The CSV: every caseload column except the ones used only for sorting, filtering and linking.
VISIBLE_COLUMNS = [
    column
    for column in CASELOAD_COLUMNS
    if column not in {"patient_id", "PHQ9 due", "GAD7 due", "Escalated", "Worsening", "Needs attention", "Attention"}
]


def filter_caseload(
    table: pd.DataFrame, *, needs_attention: bool, visit_overdue: bool, open_flags: bool, search: str
) -> pd.DataFrame:
    """Apply the caseload page's filters (pure, so it is tested without a browser)."""
    filtered = table
    if needs_attention:
        filtered = filtered[filtered["Needs attention"]]
    if visit_overdue:
        filtered = filtered[filtered["Visit overdue"]]
    if open_flags:
        filtered = filtered[filtered["Open flags"] > 0]
    text = search.strip().lower()
    if text:
        filtered = filtered[
            filtered["Patient"].str.lower().str.contains(text, regex=False)
            | filtered["MRN"].str.lower().str.contains(text, regex=False)
        ]
    return filtered


def render_caseload(actor: Actor, table: pd.DataFrame, *, key: str = "caseload") -> None:
    """Show the caseload; selecting a row opens that patient's chart."""
    # One row that wraps instead of squeezing: at 1024 px, fixed columns cut the toggle labels to "Nee…".
    filters = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    search = filters.text_input(
        "Search name or MRN", key=f"{key}_search", placeholder="e.g. Rivera or IOP-000123", width=260
    )
    needs_attention = filters.toggle("Needs attention", key=f"{key}_attention")
    visit_overdue = filters.toggle("Visit overdue", key=f"{key}_visit_overdue")
    open_flags = filters.toggle("Open flags", key=f"{key}_open_flags")
    shown = filter_caseload(
        table, needs_attention=needs_attention, visit_overdue=visit_overdue, open_flags=open_flags, search=search
    )
    audited_csv_download(actor, shown[VISIBLE_COLUMNS], name="caseload", key=f"{key}_csv", container=filters)
    attention = int(table["Needs attention"].sum()) if not table.empty else 0
    st.caption(
        f"{len(shown)} of {len(table)} patients shown · {attention} need attention · "
        "sorted by attention (urgent flags, escalations, overdue visits, worsening scores, overdue labs "
        "and measures first). Select a row to open the chart."
    )
    _caseload_table(actor, shown, f"{key}_table")


def _open_selected_chart(table_key: str, mrns: list[str]) -> None:
    """The table's on_select callback: a selected row opens that patient's chart.

    A callback runs before the script, so the switch to the chart starts the chart's run straight away: the
    caseload is not run again only to read the selection. The chart page checks the session and the patient."""
    event = st.session_state.get(table_key)
    rows = event["selection"]["rows"] if event else []
    if rows and rows[0] < len(mrns):
        st.switch_page(CHART_PAGE, query_params={"patient": mrns[rows[0]]})


@session_fragment()
def _caseload_table(actor: Actor, shown: pd.DataFrame, table_key: str) -> None:
    """The table, in a fragment: a click on a row is then an interaction of this fragment, not of the page, and
    its callback's switch to the chart is the only full run the click causes."""
    labelled_table(
        shown,
        COLUMNS,
        key=table_key,
        severity_columns=["Top flag", "PHQ-9 severity", "GAD-7 severity"],
        wrap=True,
        height=min(max(len(shown), 1), 12) * WRAPPED_ROW_HEIGHT + 40,  # up to twelve rows before it scrolls
        on_select=functools.partial(_open_selected_chart, table_key, shown["MRN"].astype(str).tolist()),
        selection_mode="single-row",
    )
