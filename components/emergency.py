"""Emergency access ("break the glass") to a chart outside one's caseload."""

from __future__ import annotations

import streamlit as st

from components.forms import finish_form, show_save_error, submission_token
from db.commands import EditConflict, InvalidInput
from db.commands.access import break_glass
from db.permissions import Actor, PermissionDenied
from db.settings import get_settings


def emergency_access_form(actor: Actor, mrn: str) -> None:
    minutes = get_settings().break_glass_minutes
    with st.expander("Emergency access (break the glass)"):
        st.caption(
            f"For an emergency only: access lasts {minutes} minutes, is marked in the audit log and is "
            "reviewed by supervisors."
        )
        token = submission_token("break_glass")
        reason = st.text_area("State the emergency", max_chars=2000, key="break_glass_reason")
        if st.button("Open the chart for this emergency", key="break_glass_go"):
            try:
                grant = break_glass(actor, mrn, reason, submission=token)
            except (InvalidInput, EditConflict, PermissionDenied) as error:
                if isinstance(error, PermissionDenied):
                    st.error(str(error))
                else:
                    show_save_error(error, "break_glass")
                return
            finish_form(
                "break_glass", f"Emergency access granted until {grant.expires_at:%H:%M} UTC; it is in the audit log."
            )
