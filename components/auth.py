"""Login page, server-side session check and logout.

Every script run starts here: the session id kept in this browser tab's server-side state (or, after a
reload, the signed login cookie, components.login_cookie) is looked up in the database, which decides whether
the user is still logged in. Nothing the browser sends decides access by itself.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable
from typing import Any, ParamSpec

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from components.account import account_gate
from components.login_cookie import (
    draw_pending_cookie_write,
    login_cookie_from_request,
    remove_login_cookie,
    set_login_cookie,
    sign_login_token,
)
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
LOGOUT_BUTTON_KEY = "logout_button"
SESSION_ENDED_NOTICE = "Your session has ended. Please log in again."
# Set just before a rerun that a timer (not the user) asked for, so that run does not count as activity.
TIMER_RERUN_KEY = "_auth_timer_rerun"
_FINGERPRINT_PREFIX = "_auth_fragment_fingerprint:"
P = ParamSpec("P")


def _cookie_key() -> str:
    return str(st.secrets["auth"]["cookie_key"])


def _resume_from_cookie() -> Actor | None:
    """The live session named by the login cookie the browser sent with the page (a reload, a new tab)."""
    cookie = login_cookie_from_request(_cookie_key())
    if cookie is None:
        return None
    username, expires = cookie
    return resume_from_cookie(username, expires)


def client_address() -> str | None:
    """The address login throttling counts by (None: this machine).

    With ``TRUSTED_PROXY_HOPS`` = n > 0 the app sits behind n proxies of its own, the last of which connects to
    Streamlit: the client is the n-th address from the right of X-Forwarded-For (each proxy appends the peer it
    saw; anything to the left was written by the client and is not trusted). Without a trusted proxy the header
    is ignored, since any client can send it, and the socket's peer address is used."""
    hops = get_settings().trusted_proxy_hops
    if hops > 0:
        forwarded = [part.strip() for part in (st.context.headers.get("X-Forwarded-For") or "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            return forwarded[-hops][:64]
    peer = st.context.ip_address
    return peer if isinstance(peer, str) else None  # AppTest's context has no real peer


def _forget_session() -> None:
    st.session_state.pop(SESSION_KEY, None)


def _render_login_form() -> Actor | None:
    st.title("IOP Medication Dashboard")
    st.caption("Virtual intensive outpatient program · synthetic demo data only")
    # Kept until the next login attempt, so any later run of the login page (a wrong password, the second
    # factor's "Start again") still says why the user is here.
    notice = st.session_state.get("login_notice")
    if notice:
        st.info(notice)
    if st.session_state.get(CHALLENGE_KEY):
        return _render_second_factor_form()
    with st.form("login", clear_on_submit=False):
        username = st.text_input("Username", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Log in", type="primary")
    if not submitted:
        # A login cookie the browser still holds (after logout, or for a session that ended) goes now, on the
        # login page; not in the run that submits the form, which sets the new one.
        remove_login_cookie()
        return None
    st.session_state.pop("login_notice", None)
    result = login(username, password, client_address=client_address())
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
    result = complete_second_factor(st.session_state.get(CHALLENGE_KEY), code, client_address=client_address())
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

    Called once per script run by app.py.
    """
    session_id = st.session_state.get(SESSION_KEY)
    by_timer = bool(st.session_state.pop(TIMER_RERUN_KEY, False))
    actor = resolve_session(session_id, activity=not by_timer) if session_id else None
    if session_id and actor is None:
        _forget_session()
        st.session_state["login_notice"] = SESSION_ENDED_NOTICE
    if actor is None and not session_id:
        actor = _resume_from_cookie()
        if actor is not None:
            st.session_state[SESSION_KEY] = actor.session_id
    return actor


def login_form() -> Actor:
    """For a run where ``current_actor()`` found nobody: the login page; the run stops unless a login succeeds.

    It draws this run's write of the login cookie (its removal on the login page, or the new cookie)."""
    login_area = st.empty()
    with login_area.container():
        actor = _render_login_form()
    if actor is None:
        st.stop()
    login_area.empty()
    _set_login_cookie(actor)  # drawn with the sidebar's "Log out" button, in this run
    return actor


def served_over_tls() -> bool:
    """Whether the browser reached the app over https (directly or through a TLS-terminating proxy)."""
    return str(st.context.url or "").lower().startswith("https://")


def _set_login_cookie(actor: Actor) -> None:
    """Set the signed login cookie and tie it to the server-side session.

    It is drawn in this run, at the foot of the sidebar (``logout_button``), and without a rerun, so the cookie
    component reaches the browser; its answer reruns only its own fragment, not the landing page drawn after
    it. The cookie is written by JavaScript, so it cannot be HttpOnly; it is SameSite=Strict, Secure whenever
    the page came over https, expires with the session's absolute lifetime, and only names a server-side
    session (README, "The login cookie").
    """
    expires = time.time() + get_settings().session_lifetime_hours * 3600
    set_login_cookie(sign_login_token(actor.username, expires, _cookie_key()), expires, secure=served_over_tls())
    if actor.session_id:
        attach_cookie(actor.session_id, expires)


def rerun_app_by_timer() -> None:
    """``st.rerun(scope="app")`` for a rerun a timer asked for: the session is checked, but it is not activity."""
    st.session_state[TIMER_RERUN_KEY] = True
    st.rerun(scope="app")


def _is_fragment_run() -> bool:
    """True when only fragments run (a fragment's own widget, its timer, or st.rerun(scope="fragment"))."""
    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


def _widget_fingerprint() -> str:
    """A digest of the keyed widget values (and other plain values) in session state.

    Streamlit does not tell a script whether a fragment rerun came from its timer or from the user, so a timer
    fragment compares this digest with the one left by its previous run: only the user changes widget values
    between two runs of a fragment (a click, a choice, typed text), a timer changes nothing."""
    plain = (str, int, float, bool, type(None), list, tuple, dict)
    items = sorted(
        (key, repr(value))
        for key, value in st.session_state.to_dict().items()
        if isinstance(key, str) and not key.startswith("_") and isinstance(value, plain)
    )
    return hashlib.sha256(repr(items).encode()).hexdigest()


def session_fragment(
    run_every: float | None = None,
) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """``st.fragment`` that re-reads the login session from the database on each run of its own.

    A fragment reruns alone (app.py and its session check do not run), so without this an open tab kept
    acting for an account deactivated or logged out elsewhere, and an auto-refreshing queue kept showing new
    flags past the idle timeout. Each fragment-only run resolves the session again and hands the fragment the
    fresh ``Actor`` (its first argument); an ended session reruns the whole app, which shows the login page.
    A timer run (``run_every``) counts as the user's activity only if the user changed one of its widgets.
    """

    def decorate(function: Callable[P, None]) -> Callable[P, None]:
        fingerprint_key = _FINGERPRINT_PREFIX + function.__qualname__

        @functools.wraps(function)
        def checked(*args: P.args, **kwargs: P.kwargs) -> None:
            if not _is_fragment_run():
                # Part of a full run, which app.py checked already. Its widget digest would be taken mid-run, so
                # none is kept: the first timer run after it sets the baseline (and is not activity).
                st.session_state.pop(fingerprint_key, None)
                function(*args, **kwargs)
                return
            before = st.session_state.get(fingerprint_key)
            acted = run_every is None or (before is not None and before != _widget_fingerprint())
            actor = resolve_session(st.session_state.get(SESSION_KEY), activity=acted)
            if actor is None:
                _forget_session()
                st.session_state["login_notice"] = SESSION_ENDED_NOTICE
                st.rerun(scope="app")
            if args and isinstance(args[0], Actor):
                args = (actor, *args[1:])  # type: ignore[assignment]
            try:
                function(*args, **kwargs)
            finally:
                if run_every is not None:
                    st.session_state[fingerprint_key] = _widget_fingerprint()

        fragment: Any = st.fragment(checked, run_every=run_every)
        return fragment  # type: ignore[no-any-return]

    return decorate


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


def logout_requested() -> bool:
    """The "Log out" button was pressed (its value is known at the start of the run it started)."""
    return bool(st.session_state.get(LOGOUT_BUTTON_KEY))


def end_session(actor: Actor) -> None:
    """Log out: end the server-side session; the login page drawn next removes the cookie from the browser."""
    logout(actor.session_id)
    _forget_session()
    st.session_state["login_notice"] = "You have been logged out."


def logout_button(actor: Actor) -> None:
    """The sidebar's "Log out" button; app.py acts on it at the start of the next run (``logout_requested``).

    Below it, a login cookie write the browser has not confirmed yet (drawn once per logged-in run, here)."""
    st.sidebar.button("Log out", key=LOGOUT_BUTTON_KEY, width="stretch")
    with st.sidebar:
        draw_pending_cookie_write()
