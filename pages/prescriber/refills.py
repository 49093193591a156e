"""Refill requests awaiting the prescriber's decision; nurses see their team's, read-only."""

import streamlit as st

from components.auth import require_role
from components.refill_view import render_refills

actor = require_role("prescriber", "nurse")
st.title("Refill requests")
render_refills(actor)
