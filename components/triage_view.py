"""The triage queue (refreshing by itself) and the actions a nurse takes on a flag."""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from components.auth import session_fragment
from components.forms import escape_markdown, finish_form, show_notice, show_save_error, submission_token
from components.tables import labelled_table
from db.commands import EditConflict, InvalidInput
from db.commands.flags import act_on_flag
from db.permissions import Actor
from db.queries.queues import triage_queue
from db.settings import get_settings

REFRESH_SECONDS = get_settings().triage_refresh_seconds
ACTIONS = {
    "take_ownership": "Take ownership",
    "acknowledge": "Acknowledge",
    "escalate": "Escalate to prescriber",
    "resolve": "Resolve",
}
CHART_PAGE = "pages/clinical/patient_chart.py"
# The chart's address shows the crisis plan open at the top of the visit summary (components.visit_summary).
CRISIS_PLAN_QUERY = {"show": "crisis-plan"}
SEVERITY_BADGES = {
    "urgent": ":red-badge[:material/emergency: URGENT]",
    "high": ":orange-badge[:material/warning: HIGH]",
}
# Most useful first: how urgent, who, what raised it, then where to go; the severity is a meter, a word and a
# coloured cell (components.tables), never colour alone.
QUEUE_COLUMNS = {
    "severity": st.column_config.TextColumn("Severity", help="urgent, high, moderate, low: most urgent first"),
    "patient": st.column_config.TextColumn("Patient"),
    "kind": st.column_config.TextColumn("Flag"),
    "summary": st.column_config.TextColumn("What raised it", width="large"),
    "age": st.column_config.TextColumn("Waiting"),
    "overdue": st.column_config.CheckboxColumn("Past target", help="Past its response-time target"),
    "state": st.column_config.TextColumn("State"),
    "owner": st.column_config.TextColumn("Owner"),
    # Relative links: the chart opens on the patient; the second one with the crisis plan shown open.
    "chart": st.column_config.LinkColumn("Chart", display_text="Open chart"),
    "crisis_plan": st.column_config.LinkColumn("Crisis plan", display_text="Crisis plan"),
    "mrn": st.column_config.TextColumn("MRN"),
}


def format_age(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes // (24 * 60)} d"


def queue_table(table: pd.DataFrame) -> pd.DataFrame:
    shown = table.copy()
    shown["age"] = shown["age_minutes"].map(format_age)
    shown["kind"] = shown["kind"].str.replace("_", " ")
    shown["chart"] = [f"/chart?{urlencode({'patient': mrn})}" for mrn in shown["mrn"]]
    shown["crisis_plan"] = [f"/chart?{urlencode({'patient': mrn, **CRISIS_PLAN_QUERY})}" for mrn in shown["mrn"]]
    return shown[list(QUEUE_COLUMNS)]


def severity_lines(table: pd.DataFrame, severity: str) -> list[str]:
    """One plain-text line per flag of this severity, so they stand out above the table."""
    flags = table[table["severity"] == severity]
    return [
        f"{severity.upper()} · {row.patient} ({row.mrn}) · {row.kind.replace('_', ' ')} · {row.state} · "
        f"{format_age(int(row.age_minutes))} · owner: {row.owner if isinstance(row.owner, str) else 'none'}"
        for row in flags.itertuples()
    ]


def urgent_lines(table: pd.DataFrame) -> list[str]:
    """One plain-text line per urgent flag, so they stand out above the table (and screen readers reach them)."""
    return severity_lines(table, "urgent")


@session_fragment(run_every=REFRESH_SECONDS)
def live_queue(actor: Actor) -> None:
    """The queue and the action panel re-read every few seconds, without reloading the page: a new flag shows up
    in both. Only this fragment reruns; keyed widgets keep their selection and typed note across refreshes."""
    table = triage_queue(actor)
    if table.empty:
        st.success("No open flags for your team.")
        return
    overdue = int(table["overdue"].sum())
    counts = table["severity"].value_counts()
    st.caption(
        " · ".join(f"{counts.get(s, 0)} {s}" for s in ("urgent", "high", "moderate", "low"))
        + f" · {overdue} past their response-time target · refreshes every {REFRESH_SECONDS} s"
    )
    # Urgent and high flags first, each with a coloured badge carrying an icon and the word (colour-blind safe;
    # not st.error, which this page keeps for save errors). The rest of the line is escaped database text.
    for severity, badge in SEVERITY_BADGES.items():
        for line in severity_lines(table, severity):
            st.markdown(f"{badge} {escape_markdown(line.split(' · ', 1)[1])}")
    labelled_table(queue_table(table), QUEUE_COLUMNS, key="triage_table", severity_columns=["severity"], wrap=True)
    if actor.can("triage_flag"):
        st.subheader("Act on a flag")
        action_panel(actor, table)


def action_panel(actor: Actor, table: pd.DataFrame) -> None:
    labels = {
        int(row.flag_id): f"[{row.severity}] {row.patient} ({row.mrn}) · {row.kind.replace('_', ' ')} · {row.state}"
        for row in table.itertuples()
    }
    flag_id = st.selectbox("Flag", list(labels), format_func=labels.__getitem__, key="triage_flag")
    row = table[table["flag_id"] == flag_id].iloc[0]
    st.text(f"What raised it: {row['summary']}")
    chart_link, plan_link = st.columns(2)
    chart_link.page_link(
        CHART_PAGE,
        label="Open this patient's chart",
        icon=":material/open_in_new:",
        query_params={"patient": str(row["mrn"])},
    )
    plan_link.page_link(
        CHART_PAGE,
        label="Open the crisis plan",
        icon=":material/health_and_safety:",
        query_params={"patient": str(row["mrn"]), **CRISIS_PLAN_QUERY},
    )
    action = st.radio("Action", list(ACTIONS), format_func=ACTIONS.__getitem__, horizontal=True, key="triage_action")
    note = st.text_area("Note (required to acknowledge, escalate or resolve)", max_chars=4000, key="triage_note")
    token = submission_token("triage_submission")
    if st.button("Save", type="primary", key="triage_save"):
        try:
            act_on_flag(actor, int(flag_id), action, expected_version=int(row["version"]), note=note, submission=token)
        except (InvalidInput, EditConflict) as error:
            show_save_error(error, "triage_submission")
            return
        # The chosen flag stays picked (its state now updated in the picker); the note and token start over.
        st.session_state.pop("triage_note", None)
        # A full rerun, not a fragment one: a click merged with a pending full-app rerun is not a fragment run,
        # and st.rerun(scope="fragment") would then fail after the write was committed.
        finish_form(
            "triage_submission",
            f"{ACTIONS[action]}: done for {row['patient']} ({row['mrn']}), {str(row['kind']).replace('_', ' ')}.",
        )
    show_notice()
