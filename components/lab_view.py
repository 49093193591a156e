"""Pending and overdue lab orders, and entering a result."""

from __future__ import annotations

import streamlit as st

import clinical
from components.downloads import audited_csv_download
from components.forms import finish_form, show_notice, show_save_error, submission_token
from components.tables import DATE, labelled_table
from db.commands import EditConflict, InvalidInput
from db.commands.labs import LabResultInput, enter_lab_result
from db.permissions import Actor
from db.queries.caseload import program_today
from db.queries.queues import lab_queue

COLUMNS = ["overdue", "due_by", "patient", "mrn", "test", "reason", "drug", "ordered_at"]
# On screen: what is late first, then who and which test; the CSV keeps COLUMNS.
LAB_QUEUE_COLUMNS = {
    "overdue": st.column_config.CheckboxColumn("Overdue"),
    "due_by": st.column_config.DateColumn("Due by", format=DATE),
    "patient": st.column_config.TextColumn("Patient"),
    "test": st.column_config.TextColumn("Test"),
    "drug": st.column_config.TextColumn("For medication"),
    "reason": st.column_config.TextColumn("Why ordered", width="large"),
    "ordered_at": st.column_config.DatetimeColumn("Ordered", format=DATE),
    "mrn": st.column_config.TextColumn("MRN"),
}


def render_labs(actor: Actor) -> None:
    show_notice()  # the outcome of the result just saved, above the queue it left
    table = lab_queue(actor)
    if table.empty:
        st.success("No pending lab orders.")
        return
    st.caption(f"{len(table)} pending · {int(table['overdue'].sum())} overdue")
    labelled_table(table, LAB_QUEUE_COLUMNS, key="lab_table", wrap=True)
    audited_csv_download(actor, table[COLUMNS], name="labs", key="labs_csv")
    if not actor.can("enter_lab_result"):
        return
    st.subheader("Enter a result")
    labels = {
        int(row.lab_order_id): f"{row.patient} ({row.mrn}) · {row.test} · due {row.due_by}"
        for row in table.itertuples()
    }
    order_id = st.selectbox("Lab order", list(labels), format_func=labels.__getitem__, key="lab_pick")
    row = table[table["lab_order_id"] == order_id].iloc[0]
    # The catalogue knows each test's unit and default reference interval; the lab's own range may differ.
    catalogue = clinical.lab_test(str(row["test"]))
    key = f"lab_{order_id}"
    token = submission_token(key)
    columns = st.columns(5)
    value = columns[0].number_input("Value", value=None, format="%.3f", key=f"{key}_value")
    unit = columns[1].text_input("Unit", value=catalogue.unit if catalogue else "", max_chars=20, key=f"{key}_unit")
    low = columns[2].number_input(
        "Reference low", value=catalogue.ref_low if catalogue else None, format="%.3f", key=f"{key}_low"
    )
    high = columns[3].number_input(
        "Reference high", value=catalogue.ref_high if catalogue else None, format="%.3f", key=f"{key}_high"
    )
    collected = columns[4].date_input(
        "Collected", value=program_today(), max_value=program_today(), key=f"{key}_collected"
    )
    if catalogue is not None:
        st.caption(
            f"Unit and reference range prefilled from the lab catalogue for {catalogue.name}; use the lab's own."
        )
    if st.button("Save result", type="primary", key="lab_save"):
        if value is None:
            st.error("Enter the result value.")
            return
        try:
            result = enter_lab_result(
                actor,
                int(order_id),
                LabResultInput(value=float(value), unit=unit, collected_on=collected, ref_low=low, ref_high=high),
                expected_version=int(row["version"]),
                submission=token,
            )
        except (InvalidInput, EditConflict) as error:
            show_save_error(error, key)
            return
        st.session_state.pop("lab_pick", None)
        finish_form(
            key,
            f"{row['test']} for {row['patient']} ({row['mrn']}): {result.value:g} {result.unit}, "
            f"{result.interpretation}" + (" — a flag was raised for triage." if result.is_abnormal else "."),
        )
