"""Audit trail search (supervisor, admin)."""

import streamlit as st

from components.audit_view import render_audit
from components.auth import require_role

actor = require_role("supervisor", "admin")
st.title("Audit trail")
render_audit(actor)
