"""Amend a recorded score, note or lab result: the correction is appended; the original stays visible."""

from __future__ import annotations

import streamlit as st

from components.forms import finish_form, show_save_error, submission_token
from db.commands import EditConflict, InvalidInput
from db.commands.access import amend_record
from db.permissions import Actor, PermissionDenied
from db.queries.chart import ChartData


def amend_form(actor: Actor, data: ChartData, *, close: str | None = None) -> None:
    options: dict[str, tuple[str, int, str]] = {}
    for row in data.assessments.tail(20).itertuples():
        options[f"{row.instrument} {row.administered_at:%Y-%m-%d} total {row.total}"] = (
            "assessments",
            int(row.id),
            "total",
        )
    for row in data.visits.head(10).itertuples():
        options[f"Visit {row.visit_at:%Y-%m-%d} assessment note"] = ("visits", int(row.id), "assessment_note")
        options[f"Visit {row.visit_at:%Y-%m-%d} plan note"] = ("visits", int(row.id), "plan_note")
    for row in data.lab_results.tail(10).itertuples():
        options[f"{row.test} {row.collected_on} value {row.value:g}"] = ("lab_results", int(row.id), "value")
    if not options:
        st.info("Nothing recorded yet to amend.")
        return
    token = submission_token("amend")
    choice = st.selectbox("Record", list(options), key="amend_record")
    new_value = st.text_area("Corrected value", max_chars=10_000, key="amend_value")
    reason = st.text_input("Reason for the correction", max_chars=2000, key="amend_reason")
    if st.button("Append amendment", key="amend_save"):
        table, record_id, field = options[choice]
        try:
            amend_record(actor, table, record_id, field, new_value, reason, submission=token)
        except (InvalidInput, EditConflict, PermissionDenied) as error:
            if isinstance(error, PermissionDenied):
                st.error(str(error))
            else:
                show_save_error(error, "amend")
            return
        finish_form("amend", "Amendment appended; the original stays in the record.", close=close)
