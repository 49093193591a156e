"""Supervisor landing page: the program at a glance, with drill-down to the patients behind each number."""

import streamlit as st

from components.auth import require_role
from components.overview_view import render_overview

actor = require_role("supervisor")
st.title("Program overview")
render_overview(actor)
