"""Small shared display helpers. Free text from the database is always shown as text, never markdown."""

from __future__ import annotations

import pandas as pd
import streamlit as st


def show_table(
    table: pd.DataFrame,
    *,
    key: str,
    columns: list[str] | None = None,
    empty_message: str = "Nothing to show.",
) -> None:
    """A read-only table (st.dataframe renders cells as text); downloads go through components.downloads."""
    if table.empty:
        st.info(empty_message)
        return
    shown = table[columns] if columns else table
    st.dataframe(shown, key=key, hide_index=True, width="stretch")


def plain_text(label: str, value: object) -> None:
    """A labelled value from the database, rendered as plain text whatever characters it contains."""
    st.caption(label)
    st.text("—" if value in (None, "") else str(value))
