"""Shared display helpers for tables: human column labels, one date format, severities a colour-blind reader
can tell apart. Free text from the database is always shown as text, never markdown."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from db.settings import get_settings

# One date format on every page: tables (st.column_config, moment.js tokens) and charts (Vega-Lite, d3 tokens)
# show the same ISO date, so a date reads the same in a table, a tooltip and on an axis.
DATE = "YYYY-MM-DD"
DATETIME = "YYYY-MM-DD HH:mm"
CHART_DATE = "%Y-%m-%d"

# A severity is always its word plus a four-dot meter (the icon) and a cell colour: the colour only backs up
# what the word and the dots say (colour-blind safe). Dark text on each light background stays legible in the
# light and the dark theme alike (contrast at least 9:1, tests/components/test_tables.py).
SEVERITY_METERS = {
    # flags
    "urgent": "●●●●",
    "high": "●●●○",
    "low": "●○○○",
    # scores and side effects
    "severe": "●●●●",
    "moderately severe": "●●●○",
    "moderate": "●●○○",
    "mild": "●○○○",
    "minimal": "○○○○",
}
SEVERITY_BACKGROUNDS = {
    "urgent": "#f8b4b4",
    "severe": "#f8b4b4",
    "high": "#fcd9a8",
    "moderately severe": "#fcd9a8",
    "moderate": "#fdf1b0",
    "mild": "#e2e8f0",
    "low": "#e2e8f0",
}
SEVERITY_TEXT = "#1a202c"
# Two lines of text per row: Streamlit wraps a text column's content when the rows are taller than one line.
WRAPPED_ROW_HEIGHT = 52


def local_time(at: datetime) -> str:
    """A stored naive-UTC time on the program's clock."""
    return at.replace(tzinfo=UTC).astimezone(get_settings().timezone).strftime("%Y-%m-%d %H:%M %Z")


def severity_label(severity: object) -> str:
    """'●●○○ moderate': the meter then the word; an empty or unknown severity is shown as it is."""
    if severity is None or (isinstance(severity, float) and pd.isna(severity)):
        return ""
    word = str(severity)
    meter = SEVERITY_METERS.get(word.lower())
    return f"{meter} {word}" if meter else word


def severity_style(label: object) -> str:
    """The cell style for a severity (its word, or its label with the meter in front)."""
    word = str(label or "").lstrip("●○ ").lower()
    colour = SEVERITY_BACKGROUNDS.get(word)
    return f"background-color: {colour}; color: {SEVERITY_TEXT}; font-weight: 600" if colour else ""


def labelled_table(
    table: pd.DataFrame,
    columns: dict[str, Any],
    *,
    key: str | None = None,
    severity_columns: Iterable[str] = (),
    empty_message: str | None = None,
    wrap: bool = False,
    **options: Any,
) -> Any:
    """A read-only table with human labels, in the order given; columns not listed (ids, versions) are left out.

    ``severity_columns`` are shown as meter + word on a coloured cell. ``wrap`` makes rows two lines high, so
    long text (a summary, a medication list) wraps instead of being cut off. Other ``options`` go to
    st.dataframe (selection, height); the selection event is returned."""
    if table.empty and empty_message is not None:
        st.info(empty_message)
        return None
    shown: Any = table
    severities = [column for column in severity_columns if column in table.columns]
    if severities:
        # Only the shown columns are styled: Streamlit turns every cell of a styled table into text, one by one
        # (112 of the caseload's 133 ms of CPU when the whole frame went through the Styler).
        shown = table[[column for column in columns if column in table.columns]]
        shown = shown.assign(**{column: shown[column].map(severity_label) for column in severities})
        shown = shown.style.map(severity_style, subset=severities)
    return st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key=key,
        column_order=[column for column in columns if column in table.columns],
        column_config=columns,
        row_height=WRAPPED_ROW_HEIGHT if wrap else None,
        **options,
    )


def plain_text(label: str, value: object) -> None:
    """A labelled value from the database, rendered as plain text whatever characters it contains."""
    st.caption(label)
    st.text("—" if value in (None, "") else str(value))


def dose_text(dose: object, unit: object, frequency: object = None) -> str:
    """'50 mg once daily'; a missing dose (a start has no previous dose) reads '—'."""
    if dose is None or pd.isna(dose):  # type: ignore[call-overload]
        return "—"
    return f"{float(dose):g} {unit or ''} {frequency or ''}".replace("  ", " ").strip()  # type: ignore[arg-type]
