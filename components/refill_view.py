"""The refill queue: everything needed to decide each request on one screen.

Prescribers decide; nurses see the same queue for their team, read-only (deciding needs prescribing authority,
and ``decide_refill`` refuses them on the server whatever the page shows).
"""

from __future__ import annotations

import streamlit as st

from components.downloads import audited_csv_download
from components.forms import escape_markdown, finish_form, show_notice, show_save_error, submission_token
from components.tables import DATE, DATETIME, dose_text, labelled_table
from db.commands import EditConflict, InvalidInput, SafetyBlock
from db.commands.refills import DECISION_OUTCOMES, decide_refill
from db.permissions import Actor
from db.queries.queues import refill_queue

READ_ONLY_NOTE = "Read-only: approving, denying or holding a refill needs prescribing authority (the prescriber)."
QUEUE_COLUMNS = [
    "patient",
    "mrn",
    "drug",
    "dose",
    "unit",
    "frequency",
    "quantity",
    "days_supply",
    "last_fill_date",
    "is_early",
    "schedule",
    "status",
    "last_visit",
    "next_visit_due",
    "scores",
    "open_flags",
    "labs_pending",
    "hold_reason",
    "requested_at",
]
# On screen, what a decision needs first: who and what, whether it is early or on hold, then the context.
REFILL_QUEUE_COLUMNS = {
    "patient": st.column_config.TextColumn("Patient"),
    "drug": st.column_config.TextColumn("Medication"),
    "dose_text": st.column_config.TextColumn("Dose"),
    "quantity": st.column_config.NumberColumn("Quantity", format="%d"),
    "days_supply": st.column_config.NumberColumn("Days' supply", format="%d days"),
    "is_early": st.column_config.CheckboxColumn("Early"),
    "hold_reason": st.column_config.TextColumn("On hold because", width="large"),
    "schedule": st.column_config.TextColumn("Controlled schedule"),
    "last_fill_date": st.column_config.DateColumn("Last filled", format=DATE),
    "scores": st.column_config.TextColumn("Latest scores (change)", width="medium"),
    "open_flags": st.column_config.NumberColumn("Open flags", format="%d"),
    "labs_pending": st.column_config.TextColumn("Labs pending", width="medium"),
    "last_visit": st.column_config.DateColumn("Last visit", format=DATE),
    "next_visit_due": st.column_config.DateColumn("Next visit due", format=DATE),
    "requested_at": st.column_config.DatetimeColumn("Requested", format=DATETIME),
    "status": st.column_config.TextColumn("Status"),
    "mrn": st.column_config.TextColumn("MRN"),
}


def render_refills(actor: Actor) -> None:
    show_notice()  # the decision just recorded, also when it emptied the queue
    table = refill_queue(actor)
    if table.empty:
        st.success("No pending refill requests.")
        return
    st.caption(
        f"{len(table)} requests · {int(table['is_early'].sum())} early · "
        f"{int((table['hold_reason'] != '').sum())} waiting on an overdue monitoring lab"
    )
    labelled_table(
        table.assign(
            dose_text=[
                dose_text(*values) for values in zip(table["dose"], table["unit"], table["frequency"], strict=True)
            ]
        ),
        REFILL_QUEUE_COLUMNS,
        key="refill_table",
        wrap=True,
    )
    audited_csv_download(actor, table[QUEUE_COLUMNS], name="refills", key="refills_csv")
    if not actor.can("decide_refill"):
        st.caption(READ_ONLY_NOTE)
        return
    st.subheader("Decide a request")
    labels = {
        int(row.refill_id): f"{row.patient} ({row.mrn}) · {row.drug} {row.dose:g} {row.unit} · qty {row.quantity}"
        for row in table.itertuples()
    }
    refill_id = st.selectbox("Request", list(labels), format_func=labels.__getitem__, key="refill_pick")
    row = table[table["refill_id"] == refill_id].iloc[0]
    if row["hold_reason"]:
        st.warning(escape_markdown(f"On hold: {row['hold_reason']}"))
    if row["is_early"]:
        st.warning(
            "Early request" + (f" for a schedule {row['schedule']} controlled substance" if row["schedule"] else "")
        )
    # No default and one radio per request: after a save the picker moves on to the next request, and a second
    # click must not decide that request, which the prescriber has not looked at.
    decision = st.radio(
        "Decision", ["approve", "deny", "hold"], index=None, horizontal=True, key=f"refill_decision_{refill_id}"
    )
    quantity = st.number_input(
        "Quantity", min_value=1, max_value=1000, value=int(row["quantity"]), key=f"refill_quantity_{refill_id}"
    )
    pdmp = False
    if row["schedule"]:
        pdmp = st.checkbox(
            "I checked the prescription-monitoring program (PDMP) for the patient's state",
            key=f"refill_pdmp_{refill_id}",
        )
    reason = st.text_input("Reason (required to deny or hold)", max_chars=2000, key=f"refill_reason_{refill_id}")
    token = submission_token("refill")
    if st.button("Record decision", type="primary", key="refill_save"):
        if decision is None:
            st.error("Choose approve, deny or hold for this request. Nothing was saved.")
            return
        try:
            decide_refill(
                actor,
                int(refill_id),
                decision,
                expected_version=int(row["version"]),
                reason=reason,
                approved_quantity=int(quantity) if decision == "approve" else None,
                pdmp_checked=pdmp,
                submission=token,
            )
        except (InvalidInput, SafetyBlock, EditConflict) as error:
            show_save_error(error, "refill")
            return
        st.session_state.pop("refill_pick", None)
        finish_form(
            "refill", f"{row['patient']} ({row['mrn']}): refill of {row['drug']} {DECISION_OUTCOMES[decision]}."
        )
