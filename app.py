"""Entry point: ``streamlit run app.py``. Checks the deployment, logs the user in, shows their role's pages."""

from __future__ import annotations

import streamlit as st

from components.auth import logout_button, require_login
from components.navigation import register_pages, sidebar_links
from components.resilience import database_guard
from components.security import deployment_problems

st.set_page_config(page_title="IOP Medication Dashboard", page_icon=":material/medication:", layout="wide")

problems = deployment_problems(st.secrets.to_dict() if hasattr(st.secrets, "to_dict") else dict(st.secrets))
if problems:
    st.error("This deployment is not safe to start:\n\n" + "\n".join(f"- {problem}" for problem in problems))
    st.stop()

with database_guard():
    # Resolve the URL before the login check, so a deep link opens its page once the user has logged in.
    # Every page file checks the role itself (components.auth.require_role); the sidebar offers the role's pages.
    page = register_pages()
    actor = require_login()
    st.sidebar.markdown(f"**{actor.full_name}**")
    st.sidebar.caption(actor.role.title())
    sidebar_links(actor)
    logout_button(actor)
    page.run()
