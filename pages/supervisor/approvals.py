"""Supervisors: approve new or reset clinical accounts (the second person after the administrator)."""

import streamlit as st

from components.auth import require_role
from components.users_view import render_pending_approvals

actor = require_role("supervisor")
st.title("Account approvals")
render_pending_approvals(actor)
