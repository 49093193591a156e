"""Every user: two-factor authentication (TOTP) for their account; required for prescribers and administrators."""

import streamlit as st

from components.account import render_totp_enrolment
from components.auth import require_role

actor = require_role("prescriber", "nurse", "supervisor", "admin")
st.title("Two-factor authentication")
render_totp_enrolment(actor)
