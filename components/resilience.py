"""Keep serving when the database is briefly unreachable: a clear message and an automatic retry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from sqlalchemy.exc import DBAPIError, OperationalError

from components.auth import rerun_app_by_timer

RETRY_SECONDS = 5
UNAVAILABLE_MESSAGE = (
    "The database is unavailable right now; retrying every 5 seconds. If you were saving something, it was not "
    "saved: nothing is ever half-written. Please try it again once this message is gone."
)


@st.fragment(run_every=RETRY_SECONDS)
def _retry_soon() -> None:
    # The first run only arms the timer; the next tick reruns the whole page, which retries the database.
    if st.session_state.get("_database_retry_armed"):
        st.session_state["_database_retry_armed"] = False
        rerun_app_by_timer()
    st.session_state["_database_retry_armed"] = True


@contextmanager
def database_guard() -> Iterator[None]:
    """Turn a lost database connection into a "retrying" notice instead of a stack trace."""
    try:
        yield
        st.session_state["_database_retry_armed"] = False
    except (OperationalError, DBAPIError) as error:
        if not isinstance(error, OperationalError) and not getattr(error, "connection_invalidated", False):
            raise
        st.warning(UNAVAILABLE_MESSAGE, icon=":material/cloud_off:")
        _retry_soon()
