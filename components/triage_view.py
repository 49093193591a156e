"""The triage queue (refreshing by itself) and the actions a nurse takes on a flag."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.auth import session_fragment
from components.forms import finish_form, show_notice, show_save_error, submission_token
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
QUEUE_COLUMNS = ["severity", "overdue", "age", "patient", "mrn", "kind", "summary", "state", "owner"]


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
    return shown[QUEUE_COLUMNS]


def urgent_lines(table: pd.DataFrame) -> list[str]:
    """One plain-text line per urgent flag, so they stand out above the table (and screen readers reach them)."""
    urgent = table[table["severity"] == "urgent"]
    return [
        f"URGENT · {row.patient} ({row.mrn}) · {row.kind.replace('_', ' ')} · {row.state} · "
        f"{format_age(int(row.age_minutes))} · owner: {row.owner if isinstance(row.owner, str) else 'none'}"
        for row in urgent.itertuples()
    ]


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
    st.dataframe(
        queue_table(table),
        hide_index=True,
        width="stretch",
        key="triage_table",
        column_config={
            "overdue": st.column_config.CheckboxColumn("Overdue"),
            "summary": st.column_config.TextColumn("What raised it", width="large"),
        },
    )
    for line in urgent_lines(table):
        st.text(line)
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
