"""Caseload management: reassign patients between prescribers or nurses."""

import streamlit as st

from components.auth import require_role
from components.reassign_view import render_reassign

actor = require_role("supervisor")
st.title("Reassign patients")
render_reassign(actor)
