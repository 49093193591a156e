"""Emergency access ("break the glass") to a chart outside one's caseload.

The form is the same for every refused MRN, whether it exists or not; the command answers an unknown MRN in
the same words as a refusal for policy reasons (db.commands.access.NOT_GRANTED).
"""

from __future__ import annotations

import streamlit as st

from components.forms import escape_markdown, finish_form, show_save_error, submission_token
from db.commands import EditConflict, InvalidInput
from db.commands.access import EMERGENCY_REASONS, break_glass
from db.permissions import Actor, PermissionDenied
from db.settings import get_settings


def emergency_access_form(actor: Actor, mrn: str) -> None:
    settings = get_settings()
    with st.expander("Emergency access (break the glass)"):
        st.caption(
            f"For an emergency only: access lasts {settings.break_glass_minutes} minutes and is read-only unless "
            "the patient is at risk now. At most "
            f"{settings.break_glass_max_per_day} attempts in 24 hours. The patient's care team and the supervisors "
            "are alerted, and every attempt is in the audit log."
        )
        token = submission_token("break_glass")
        category = st.selectbox(
            "Kind of emergency",
            list(EMERGENCY_REASONS),
            index=None,
            format_func=lambda key: (
                EMERGENCY_REASONS[key].label
                + (" (care actions allowed)" if EMERGENCY_REASONS[key].allows_care else " (read-only)")
            ),
            key="break_glass_category",
            placeholder="Choose the kind of emergency",
        )
        reason = st.text_area(
            "What is happening and what you need from the chart", max_chars=2000, key="break_glass_reason"
        )
        if st.button("Open the chart for this emergency", key="break_glass_go"):
            try:
                grant = break_glass(actor, mrn, category or "", reason, submission=token)
            except (InvalidInput, EditConflict, PermissionDenied) as error:
                if isinstance(error, PermissionDenied):
                    st.error(escape_markdown(str(error)))
                else:
                    show_save_error(error, "break_glass")
                return
            scope = "you may act on the chart" if grant.allows_care else "read-only"
            finish_form(
                "break_glass",
                f"Emergency access granted until {grant.expires_at:%H:%M} UTC ({scope}); the care team and "
                "supervisors are alerted and it is in the audit log.",
            )
