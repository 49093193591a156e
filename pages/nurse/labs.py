"""Pending and overdue lab orders, with result entry."""

import streamlit as st

from components.auth import require_role
from components.lab_view import render_labs

actor = require_role("nurse", "prescriber")
st.title("Labs")
render_labs(actor)
