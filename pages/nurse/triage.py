"""Nurse landing page: the triage queue of open flags, most urgent and oldest first."""

import streamlit as st

from components.auth import require_role
from components.triage_view import live_queue
from db.commands.flags import raise_overdue_lab_flags

actor = require_role("nurse", "prescriber", "supervisor")
st.title("Triage queue")
# Flags that time alone raises (labs overdue past the grace period); idempotent, also run by `python -m db.sweep`.
raise_overdue_lab_flags()
live_queue(actor)
