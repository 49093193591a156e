"""Login page, server-side session check and logout.

Every script run starts here: the session id kept in this browser tab's server-side state (or, after a
reload, the signed login cookie set by streamlit-authenticator) is looked up in the database, which
decides whether the user is still logged in. Nothing the browser sends decides access by itself.
"""

from __future__ import annotations

import streamlit as st
import streamlit_authenticator as stauth

from components.account import account_gate
from db.auth import (
    LoginOutcome,
    attach_cookie,
    complete_second_factor,
    login,
    logout,
    resolve_session,
    resume_from_cookie,
)
from db.permissions import Actor
from db.settings import get_settings

SESSION_KEY = "auth_session_id"
# The server-side second login step (db.auth.login_challenges) between a correct password and the session.
CHALLENGE_KEY = "_login_challenge_id"
COOKIE_NAME = "iop_dashboard_login"


def _authenticator() -> stauth.Authenticate:
    # Credentials stay in the database; the authenticator is used for its signed, expiring login cookie.
    settings = get_settings()
    return stauth.Authenticate(
        {"usernames": {}},
        cookie_name=COOKIE_NAME,
        cookie_key=str(st.secrets["auth"]["cookie_key"]),
        cookie_expiry_days=settings.session_lifetime_hours / 24,
    )


def _resume_from_cookie(authenticator: stauth.Authenticate) -> Actor | None:
    token = authenticator.cookie_controller.get_cookie()
    if not token or "username" not in token or "exp_date" not in token:
        return None
    return resume_from_cookie(str(token["username"]), float(token["exp_date"]))


def _forget_session() -> None:
    for key in (SESSION_KEY, "username", "name", "authentication_status"):
        st.session_state.pop(key, None)


def _render_login_form(authenticator: stauth.Authenticate) -> Actor | None:
    st.title("IOP Medication Dashboard")
    st.caption("Virtual intensive outpatient program · synthetic demo data only")
    notice = st.session_state.pop("login_notice", None)
    if notice:
        st.info(notice)
    if st.session_state.get(CHALLENGE_KEY):
        return _render_second_factor_form()
    with st.form("login", clear_on_submit=False):
        username = st.text_input("Username", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Log in", type="primary")
    if not submitted:
        return None
    result = login(username, password)
    if result.outcome is LoginOutcome.SECOND_FACTOR and result.challenge_id:
        st.session_state[CHALLENGE_KEY] = result.challenge_id
        st.rerun()  # draws the code form in place of the password form
    if result.outcome is not LoginOutcome.SUCCESS or result.actor is None:
        st.error(result.message)
        return None
    st.session_state[SESSION_KEY] = result.actor.session_id
    return result.actor


def _render_second_factor_form() -> Actor | None:
    """The login's second step: a TOTP code or a recovery code (db.auth.complete_second_factor)."""
    with st.form("login_second_factor", clear_on_submit=True):
        code = st.text_input(
            "Authentication code or recovery code", max_chars=16, autocomplete="one-time-code", key="login_code"
        )
        submitted = st.form_submit_button("Verify", type="primary")
    if st.button("Start again", key="login_second_factor_cancel"):
        st.session_state.pop(CHALLENGE_KEY, None)
        st.rerun()
    if not submitted:
        return None
    result = complete_second_factor(st.session_state.get(CHALLENGE_KEY), code)
    if result.outcome is LoginOutcome.SECOND_FACTOR:
        st.error(result.message)
        return None
    st.session_state.pop(CHALLENGE_KEY, None)
    if result.outcome is not LoginOutcome.SUCCESS or result.actor is None:
        st.session_state["login_notice"] = result.message
        st.rerun()
    st.session_state[SESSION_KEY] = result.actor.session_id
    return result.actor


def current_actor() -> Actor | None:
    """The logged-in actor, re-read from the database, or None; draws nothing (no login form).

    Called once per script run by app.py (the authenticator's cookie component may render only once).
    """
    authenticator = _authenticator()
    st.session_state["_authenticator"] = authenticator
    session_id = st.session_state.get(SESSION_KEY)
    actor = resolve_session(session_id) if session_id else None
    if session_id and actor is None:
        _forget_session()
        st.session_state["login_notice"] = "Your session has ended. Please log in again."
    if actor is None and not session_id:
        actor = _resume_from_cookie(authenticator)
        if actor is not None:
            st.session_state[SESSION_KEY] = actor.session_id
    return actor


def login_form() -> Actor:
    """For a run where ``current_actor()`` found nobody: the login page; the run stops unless a login succeeds."""
    authenticator = st.session_state["_authenticator"]
    login_area = st.empty()
    with login_area.container():
        actor = _render_login_form(authenticator)
    if actor is None:
        st.stop()
    login_area.empty()
    _set_login_cookie(authenticator, actor)
    return actor


def _set_login_cookie(authenticator: stauth.Authenticate, actor: Actor) -> None:
    """Set the signed login cookie and tie it to the server-side session.

    It is rendered outside the login form's container (which is cleared) and without a rerun, so the
    cookie component reaches the browser.
    """
    st.session_state["username"] = actor.username
    st.session_state["logout"] = None
    authenticator.cookie_controller.set_cookie()
    cookie_exp = authenticator.cookie_controller.cookie_model.exp_date
    if cookie_exp is not None and actor.session_id:
        attach_cookie(actor.session_id, float(cookie_exp))


def require_role(*roles: str) -> Actor:
    """For page files: the page runs only for a logged-in user of one of ``roles``.

    It checks the server-side session again rather than trusting that app.py ran first, so a page file
    started on its own (for example by Streamlit's legacy pages/ discovery) shows nothing.
    """
    actor = resolve_session(st.session_state.get(SESSION_KEY))
    if actor is None:
        st.warning("Please log in from the start page.")
        st.stop()
    if actor.role not in roles:
        st.error("Not permitted: this page is not available for your role.")
        st.stop()
    if account_gate(actor):  # a password to change or a second factor to enrol comes before any page
        st.stop()
    return actor


def logout_button(actor: Actor) -> None:
    if st.sidebar.button("Log out", key="logout_button", width="stretch"):
        logout(actor.session_id)
        authenticator = st.session_state.get("_authenticator") or _authenticator()
        if st.session_state.get("authentication_status"):
            authenticator.logout(location="unrendered")
        else:
            authenticator.cookie_controller.delete_cookie()
        _forget_session()
        st.session_state["login_notice"] = "You have been logged out."
        st.rerun()
