"""The signed login cookie: read from the request that opened the page, written and removed by a cookie component
drawn inside a fragment, so the browser's answer reruns that fragment and never the page.

The token is the one streamlit-authenticator signs (an HS256 JWT of the username and the expiry stamp), so a
cookie set before this module keeps working. It only names a server-side session (db.auth.attach_cookie,
resume_from_cookie): the server decides whether it still opens anything (README, "The login cookie").

A returning browser's cookie is read from ``st.context.cookies``, the cookies sent with the request that opened
the page, so no component has to mount and send it back (that round trip reran the whole page once or twice per
login). A Streamlit script cannot set a cookie on an HTTP response, so writing and removing it still take
extra-streamlit-components' cookie component (JavaScript in the browser). Its answer ("done") is a widget value;
drawn inside an ``st.fragment``, that value reruns only the fragment, which then stops drawing it.
"""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from typing import Any

import jwt
import streamlit as st
from extra_streamlit_components.CookieManager import _component_func as _cookie_component

COOKIE_NAME = "iop_dashboard_login"
_ALGORITHM = "HS256"
# The write (set or removal) the browser has not confirmed yet: drawn in every full run until it has.
_PENDING_KEY = "_login_cookie_pending"
# What this tab last did to the cookie: True set it, False removed it (or is removing it). Absent: nothing yet,
# and the browser holds whatever came with the request that opened the page.
_IN_BROWSER_KEY = "_login_cookie_in_browser"
# Each write is a new widget, so a confirmation left from an earlier write is never taken for this one's.
_write_numbers = itertools.count(1)


def sign_login_token(username: str, expires: float, key: str) -> str:
    """The cookie's value: the username and expiry stamp, signed with ``auth.cookie_key``."""
    return jwt.encode({"username": username, "exp_date": expires}, key, algorithm=_ALGORITHM)


def read_login_token(token: str, key: str, *, now: float | None = None) -> tuple[str, float] | None:
    """(username, expiry stamp) of a token signed with ``key`` and not expired; None for anything else."""
    try:
        claims = jwt.decode(token, key, algorithms=[_ALGORITHM])
    except jwt.PyJWTError:
        return None
    username, expires = claims.get("username"), claims.get("exp_date")
    if not isinstance(username, str) or not username:
        return None
    if isinstance(expires, bool) or not isinstance(expires, int | float):
        return None
    if expires <= (time.time() if now is None else now):
        return None
    return username, float(expires)


def login_cookie_from_request(key: str) -> tuple[str, float] | None:
    """The valid login cookie the browser sent when it opened this page, as (username, expiry stamp).

    None once this tab has set or removed the cookie itself: ``st.context.cookies`` keeps the page-load cookie for
    the whole tab, so after a logout it would still be there."""
    if _IN_BROWSER_KEY in st.session_state:
        return None
    token = st.context.cookies.get(COOKIE_NAME)
    return read_login_token(token, key) if token else None


def login_cookie_in_browser() -> bool:
    """Whether the browser (as far as this tab knows) holds a login cookie."""
    if _IN_BROWSER_KEY in st.session_state:
        return bool(st.session_state[_IN_BROWSER_KEY])
    return COOKIE_NAME in st.context.cookies


def set_login_cookie(token: str, expires: float, *, secure: bool) -> None:
    """Have the login cookie written in the browser by the next ``draw_pending_cookie_write`` (and the ones after
    it, until the browser confirms). SameSite=Strict, path /, Secure when ``secure``."""
    options: dict[str, Any] = {
        "path": "/",
        # With its offset, so the browser reads the same instant whatever its time zone.
        "expires": datetime.fromtimestamp(expires, tz=UTC).isoformat(),
        "sameSite": "strict",
    }
    if secure:
        options["secure"] = True
    _queue({"method": "set", "cookie": COOKIE_NAME, "value": token, "options": options})
    st.session_state[_IN_BROWSER_KEY] = True


def remove_login_cookie() -> None:
    """Remove the login cookie from the browser, if it holds one: drawn here, then as ``set_login_cookie``."""
    if login_cookie_in_browser():
        _queue({"method": "delete", "cookie": COOKIE_NAME})
        st.session_state[_IN_BROWSER_KEY] = False
    draw_pending_cookie_write()


def draw_pending_cookie_write() -> None:
    """Draw the cookie write the browser has not confirmed yet, if any. Called once per full run (the sidebar's
    foot when logged in, the login form's foot otherwise: a zero-height frame there moves nothing): a user who
    clicks on before the component has run gets it drawn again rather than lost with the page it was on."""
    if st.session_state.get(_PENDING_KEY):
        _cookie_write()


def _queue(args: dict[str, Any]) -> None:
    st.session_state[_PENDING_KEY] = {"args": args, "key": f"login_cookie_{next(_write_numbers)}"}


@st.fragment
def _cookie_write() -> None:
    """The cookie component. Its answer reruns only this fragment (not the page), which then forgets the write.

    Not a session-checked fragment (components.auth.session_fragment): it shows nothing and reads no data, and on
    the login page there is no session to check."""
    pending = st.session_state.get(_PENDING_KEY)
    if not pending:
        return
    done = _cookie_component(**pending["args"], key=pending["key"], default=False)
    if done:
        st.session_state.pop(_PENDING_KEY, None)
