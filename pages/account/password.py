"""Every user: change their own password (the current one, then the new one twice); other sessions end."""

import streamlit as st

from components.account import render_change_password
from components.auth import require_role

actor = require_role("prescriber", "nurse", "supervisor", "admin")
st.title("Change password")
render_change_password(actor)
