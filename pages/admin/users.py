"""Administrator landing page: user accounts (created, reset and deactivated here; never deleted)."""

import streamlit as st

from components.auth import require_role
from components.users_view import render_users

actor = require_role("admin")
st.title("Users")
render_users(actor)
