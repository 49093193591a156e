"""Prescriber landing page (and a supervisor's view of any prescriber's caseload)."""

import streamlit as st

from components.auth import require_role
from components.caseload_view import render_caseload
from db.queries.caseload import caseload, prescribers

actor = require_role("prescriber", "supervisor")
st.title("Caseload")
prescriber_id = None
if actor.role == "supervisor":
    options = prescribers(actor)
    names = {pid: name for pid, name in options}
    prescriber_id = st.selectbox("Prescriber", list(names), format_func=names.__getitem__, key="caseload_prescriber")
render_caseload(actor, caseload(actor, prescriber_id=prescriber_id))
