"""Entry point: ``streamlit run app.py``. Checks the deployment, logs the user in, shows their role's pages."""

from __future__ import annotations

import streamlit as st

from components.account import account_gate
from components.auth import current_actor, end_session, login_form, logout_button, logout_requested
from components.checkin_links import CHECKIN_PARAM
from components.forms import escape_markdown
from components.navigation import register_pages, run_page, sidebar_links
from components.patient_checkin import render_patient_checkin
from components.resilience import database_guard
from components.security import deployment_problems, read_secrets
from db.settings import get_settings
from db.sweep import start_background_overview_refresh, start_background_sealer, start_background_sweep

st.set_page_config(page_title="IOP Medication Dashboard", page_icon=":material/medication:", layout="wide")

secrets, unreadable = read_secrets(st.secrets)
problems = ([unreadable] if unreadable else []) + deployment_problems(secrets)
if problems:
    st.error("This deployment is not safe to start:\n\n" + "\n".join(f"- {problem}" for problem in problems))
    st.stop()

# Flags that time alone raises (labs overdue past the grace period) come from a background sweep, once per
# server process, so that reading a page never writes.
start_background_sweep(get_settings().sweep_interval_minutes * 60)
# New audit rows are linked into the hash chain by a sealer, so that writes never queue on one chain lock.
start_background_sealer(get_settings().audit_seal_interval_seconds)
# The supervisor overview's default figures are a snapshot refreshed in the background, so a view costs the same
# whatever the program's size (db.program_snapshot).
start_background_overview_refresh(get_settings().overview_refresh_seconds)

with database_guard():
    # A patient's check-in link (?checkin=<token>): the public page, and nothing else. It runs before the login
    # cookie is read or any page is registered, so this route has no sidebar, no navigation and no way to another
    # page; the token itself is checked on the server on every run and again when the answers are stored.
    checkin_token = st.query_params.get(CHECKIN_PARAM)
    if checkin_token is not None:
        render_patient_checkin(str(checkin_token))
        st.stop()
    # Every page is registered before the login form, so a deep link opens its page once the user has logged
    # in. Each page file checks the role itself (components.auth.require_role); the sidebar offers the role's.
    actor = current_actor()
    if actor is not None and logout_requested():
        end_session(actor)  # the login page below is drawn in this run, with the cookie's removal
        actor = None
    navigation = register_pages(actor)
    if actor is None:
        actor = login_form()  # stops the run unless a login was just submitted and succeeded
        # Registered again now the role is known, so "/" opens this role's landing page in this very run: the
        # landing page runs once per login (the login cookie's component, drawn with the "Log out" button, answers
        # to its own fragment).
        navigation = register_pages(actor)
    st.sidebar.markdown(f"**{escape_markdown(actor.full_name)}**")  # a stored name, shown as typed
    st.sidebar.caption(actor.role.title())
    # An admin-set password still to change, or a required second factor still to enrol: only that page.
    if account_gate(actor):
        logout_button(actor)
        st.stop()
    sidebar_links(navigation, actor)
    logout_button(actor)
    run_page(navigation)
