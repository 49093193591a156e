"""What every form shares: the record version it was opened on, its one-time submission token, how it is
cleared and closed after a save, and how a refused save is explained."""

from __future__ import annotations

import secrets

import streamlit as st

from db.commands import AlreadySubmitted, EditConflict, InvalidInput, SafetyBlock

NOTICE_KEY = "form_notice"

_MARKDOWN_SPECIALS = set("\\`*_{}[]()#+-.!|<>~$=:")


def escape_markdown(text: str) -> str:
    """Make text safe to place inside a markdown string: every markdown character is shown literally."""
    return "".join(f"\\{char}" if char in _MARKDOWN_SPECIALS else char for char in str(text))


def form_version(key: str, current_version: int) -> int:
    """The record version when this form was first shown; a save compares it with the database."""
    state_key = f"{key}__opened_version"
    if state_key not in st.session_state:
        st.session_state[state_key] = current_version
    return int(st.session_state[state_key])


def forget_form_version(key: str) -> None:
    st.session_state.pop(f"{key}__opened_version", None)


def submission_token(key: str) -> str:
    """The token this form's next save carries. It stays the same until the form is cleared, so a second click
    (or a rerun replaying the first) is recognised by the command and writes nothing."""
    state_key = f"{key}__token"
    if state_key not in st.session_state:
        st.session_state[state_key] = secrets.token_urlsafe(24)
    return str(st.session_state[state_key])


def clear_form(key: str) -> None:
    """Forget everything the form holds (widget values, opened version, token): the next time it is drawn it
    starts empty, with a new token."""
    for state_key in list(st.session_state.keys()):
        name = str(state_key)
        if name == key or name.startswith(f"{key}_"):
            del st.session_state[state_key]


def finish_form(key: str, notice: str, *, close: str | None = None, urgent: bool = False) -> None:
    """After a save: clear the form, close it (``close`` is the key of the widget that opened it), and show the
    outcome at the place the form was (``show_notice``) and as a toast, wherever the user has scrolled. An
    ``urgent`` outcome (the save raised or added to an urgent flag) is shown in red, not as a plain success."""
    clear_form(key)
    if close is not None:
        st.session_state.pop(close, None)
    st.session_state[NOTICE_KEY] = (notice, urgent)
    st.rerun()


def show_notice() -> None:
    """The outcome of the last save, once: in the page where the form stood, and as a toast."""
    saved = st.session_state.pop(NOTICE_KEY, None)
    if not saved:
        return
    notice, urgent = saved if isinstance(saved, tuple) else (saved, False)
    if urgent:
        st.error(escape_markdown(notice), icon=":material/emergency:")
        st.toast(escape_markdown(notice), icon=":material/emergency:")
    else:
        st.success(escape_markdown(notice), icon=":material/check_circle:")
        st.toast(escape_markdown(notice), icon=":material/check_circle:")


def show_save_error(error: Exception, key: str) -> None:
    """Explain why nothing was saved, naming each field and its limit."""
    if isinstance(error, InvalidInput):
        st.error(
            "Nothing was saved. Please correct:\n\n"
            + "\n".join(
                f"- **{escape_markdown(field)}**: {escape_markdown(message)}" for field, message in error.errors.items()
            )
        )
    elif isinstance(error, SafetyBlock):
        st.error(
            "Nothing was saved. The safety checks block this change:\n\n"
            + "\n".join(f"- {escape_markdown(reason)}" for reason in error.reasons)
        )
    elif isinstance(error, AlreadySubmitted):
        clear_form(key)  # the save happened once; the form starts over
        st.info(escape_markdown(str(error)))
    elif isinstance(error, EditConflict):
        forget_form_version(key)  # the next attempt starts from the record as it is now
        st.warning(escape_markdown(str(error)))
    else:
        raise error
