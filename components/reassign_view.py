"""Reassign patients between prescribers or nurses, with a reason; shows caseload sizes before and after."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.forms import finish_form, show_notice, show_save_error, submission_token
from components.tables import labelled_table
from db.commands import EditConflict, InvalidInput
from db.commands.caseload import reassign_patients
from db.permissions import Actor
from db.queries.program import patient_metrics, staff

CASELOAD_SIZE_COLUMNS = {
    "clinician": st.column_config.TextColumn("Clinician"),
    "before": st.column_config.NumberColumn("Patients before", format="%d"),
    "after": st.column_config.NumberColumn("Patients after", format="%d"),
}


def render_reassign(actor: Actor) -> None:
    show_notice()
    sizes = st.session_state.pop("reassignment_sizes", None)
    if sizes is not None:
        table = pd.DataFrame(sizes).rename_axis("clinician").reset_index()
        labelled_table(table, CASELOAD_SIZE_COLUMNS, key="reassign_sizes")
    metrics = patient_metrics(actor)
    people = staff(actor)
    prescribers = {p.user_id: p for p in people if p.role == "prescriber"}
    nurses = {p.user_id: p for p in people if p.role == "nurse"}
    source = st.selectbox(
        "Current prescriber", sorted(metrics["prescriber"].unique()) if not metrics.empty else [], key="reassign_source"
    )
    candidates = metrics[metrics["prescriber"] == source] if source else metrics.iloc[0:0]
    chosen = st.multiselect(
        "Patients",
        list(candidates["patient_id"]),
        key="reassign_patients",
        format_func=lambda pid: _label(candidates, pid),
    )
    target_kind = st.radio("Reassign to", ["prescriber", "nurse"], horizontal=True, key="reassign_kind")
    states = set(_states(chosen, metrics))
    if target_kind == "prescriber":
        # Only prescribers licensed in every chosen patient's state are offered.
        options = {uid: p for uid, p in prescribers.items() if states <= set(p.licensed_states)}
    else:
        options = nurses
    target = st.selectbox(
        target_kind.title(),
        list(options),
        index=None,
        key="reassign_target",
        format_func=lambda uid: f"{options[uid].full_name} ({', '.join(options[uid].licensed_states)})",
    )
    if chosen and not options and target_kind == "prescriber":
        st.warning("No prescriber is licensed in all of: " + ", ".join(sorted(states)))
    reason = st.text_input("Reason", max_chars=2000, key="reassign_reason")
    token = submission_token("reassign")
    if st.button("Reassign", type="primary", key="reassign_save", disabled=not chosen or target is None):
        try:
            result = reassign_patients(
                actor,
                [int(pid) for pid in chosen],
                prescriber_id=target if target_kind == "prescriber" else None,
                nurse_id=target if target_kind == "nurse" else None,
                reason=reason,
                submission=token,
            )
        except (InvalidInput, EditConflict) as error:
            show_save_error(error, "reassign")
            return
        st.session_state["reassignment_sizes"] = {"before": result.caseload_before, "after": result.caseload_after}
        finish_form("reassign", f"Moved {result.moved} patient(s). Caseload sizes before and after:")


def _label(table: pd.DataFrame, patient_id: int) -> str:
    row = table[table["patient_id"] == patient_id].iloc[0]
    return f"{row['patient']} ({row['mrn']})"


def _states(patient_ids: list[int], metrics: pd.DataFrame) -> list[str]:
    return list(metrics[metrics["patient_id"].isin(patient_ids)]["state_of_residence"])
