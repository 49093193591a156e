"""CSV downloads that are recorded in the audit log when pressed."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from db.commands.exports import record_export
from db.permissions import Actor


def audited_csv_download(
    actor: Actor,
    table: pd.DataFrame,
    *,
    name: str,
    key: str,
    label: str = "Download CSV",
    patient_id: int | None = None,
) -> None:
    st.download_button(
        label,
        table.to_csv(index=False).encode(),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=key,
        on_click=record_export,
        args=(actor, name),
        kwargs={"rows": len(table), "patient_id": patient_id},
    )
