"""Nurse landing page: the triage queue of open flags, most urgent and oldest first."""

import streamlit as st

from components.auth import require_role
from components.triage_view import live_queue

actor = require_role("nurse", "prescriber", "supervisor")
st.title("Triage queue")
live_queue(actor)
