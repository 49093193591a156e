"""What every form shares: the record version it was opened on, and how a refused save is explained."""

from __future__ import annotations

import streamlit as st

from db.commands import EditConflict, InvalidInput, SafetyBlock

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
    elif isinstance(error, EditConflict):
        forget_form_version(key)  # the next attempt starts from the record as it is now
        st.warning(escape_markdown(str(error)))
    else:
        raise error
