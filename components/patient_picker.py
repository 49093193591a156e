"""Find a patient in one's own caseload or team and open the chart."""

from __future__ import annotations

import streamlit as st

from components.forms import escape_markdown
from db.permissions import Actor
from db.queries.patients import search_patients


def pick_patient(actor: Actor) -> None:
    text = st.text_input("Find a patient by name or MRN", key="chart_search")
    matches = search_patients(actor, text)
    if not matches:
        st.info("No patient in your caseload matches.")
    for match in matches[:20]:
        # Button labels are markdown: the stored name and MRN are escaped so they show as typed.
        if st.button(escape_markdown(f"{match.display_name} · {match.mrn}"), key=f"open_{match.id}"):
            st.query_params["patient"] = match.mrn
            st.rerun()
