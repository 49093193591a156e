"""Check-in links on the chart: send one (shown once as a link and a QR code), see each link's state, revoke one."""

from __future__ import annotations

import io

import pandas as pd
import segno
import streamlit as st

from components.forms import finish_form, show_save_error, submission_token
from components.tables import local_time
from db.commands import EditConflict, InvalidInput
from db.commands.checkin import (
    CHECKIN_MEASURES,
    MAX_LINK_HOURS,
    MEASURE_LABELS,
    MIN_LINK_HOURS,
    revoke_checkin_link,
    send_checkin_link,
)
from db.permissions import Actor
from db.queries.caseload import program_today
from db.queries.chart import ChartData
from db.queries.checkin import checkin_links, measure_status, snapshot
from db.queries.patients import ChartHeader
from db.settings import get_settings

CHECKIN_PARAM = "checkin"  # the query parameter app.py routes to the patient's check-in page
STATUS_WORDS = {
    "due": "measures due",
    "sent": "link sent, waiting for the patient",
    "answered": "answered through a link",
    "overdue": "measures overdue",
    "up to date": "measures up to date",
}


def checkin_url(token: str) -> str:
    return f"{get_settings().public_base_url}/?{CHECKIN_PARAM}={token}"


def qr_png(text: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=6, border=2)
    return buffer.getvalue()


def _sent_key(patient_id: int) -> str:
    return f"checkin_sent_{patient_id}"


def checkin_link_form(actor: Actor, header: ChartHeader, *, close: str | None = None) -> None:
    """Create a one-time link for the measures chosen; the link and its QR code are then shown once."""
    key = f"checkin_send_{header.patient_id}"
    token = submission_token(key)
    st.caption(
        "The patient opens the link on a phone, without an account, and answers once. The page shows nothing of "
        "the chart. Answers land in the chart as self-reports and raise the same flags as a visit."
    )
    with st.form(f"{key}_form", border=False):
        measures = st.multiselect(
            "Measures to ask",
            list(CHECKIN_MEASURES),
            default=list(CHECKIN_MEASURES),
            format_func=MEASURE_LABELS.__getitem__,
            key=f"{key}_measures",
        )
        hours = st.number_input(
            "Valid for (hours)",
            min_value=MIN_LINK_HOURS,
            max_value=MAX_LINK_HOURS,
            value=get_settings().checkin_link_hours,
            step=1,
            key=f"{key}_hours",
        )
        submitted = st.form_submit_button("Create check-in link", type="primary")
    if not submitted:
        return
    try:
        sent = send_checkin_link(actor, header.patient_id, measures=measures, hours=int(hours), submission=token)
    except (InvalidInput, EditConflict) as error:
        show_save_error(error, key)
        return
    # Kept in this browser session's server memory only, to show once; the database has only its hash.
    st.session_state[_sent_key(header.patient_id)] = {
        "url": checkin_url(sent.token),
        "expires_at": sent.expires_at,
        "measures": [MEASURE_LABELS[m] for m in sent.measures],
    }
    finish_form(key, f"Check-in link created: it works once, until {local_time(sent.expires_at)}.", close=close)


def render_sent_link(patient_id: int) -> None:
    """The link just created, as text to copy and as a QR code, until the sender hides it."""
    sent = st.session_state.get(_sent_key(patient_id))
    if not sent:
        return
    with st.container(border=True):
        st.markdown("**Check-in link for the patient**")
        st.caption(
            "Paste it into the video-visit chat, read it out, or let the patient scan the code with the phone's "
            "camera. It is shown only now: the database keeps only a fingerprint of it."
        )
        st.code(sent["url"], language=None, wrap_lines=True)
        st.image(qr_png(sent["url"]), caption="Scan to open the check-in", width=220)
        st.text(f"Asks: {', '.join(sent['measures'])}. Works once, until {local_time(sent['expires_at'])}.")
        if st.button("Done: hide the link", key=f"{_sent_key(patient_id)}_hide"):
            st.session_state.pop(_sent_key(patient_id), None)
            st.rerun()


LINK_TABLE_COLUMNS = {
    "created_at": st.column_config.DatetimeColumn("Sent (UTC)", format="YYYY-MM-DD HH:mm"),
    "sent_by": st.column_config.TextColumn("Sent by"),
    "measures": st.column_config.TextColumn("Measures"),
    "state": st.column_config.TextColumn("State"),
    "expires_at": st.column_config.DatetimeColumn("Expires (UTC)", format="YYYY-MM-DD HH:mm"),
    "opened_at": st.column_config.DatetimeColumn("First opened (UTC)", format="YYYY-MM-DD HH:mm"),
    "used_at": st.column_config.DatetimeColumn("Answered (UTC)", format="YYYY-MM-DD HH:mm"),
    "missed_doses": st.column_config.NumberColumn("Missed doses reported", format="%d"),
    "revoked_at": st.column_config.DatetimeColumn("Revoked (UTC)", format="YYYY-MM-DD HH:mm"),
    "revoked_by": st.column_config.TextColumn("Revoked by"),
}


def chart_checkin_status(header: ChartHeader, data: ChartData, links: pd.DataFrame) -> str:
    """The caseload's check-in status for this patient, from what the chart already read."""
    latest = {}
    if not data.assessments.empty:
        for instrument in ("PHQ-9", "GAD-7"):
            rows = data.assessments[data.assessments["instrument"] == instrument]
            latest[instrument] = rows["administered_at"].max() if not rows.empty else None
    last_visit = data.visits["visit_at"].max() if not data.visits.empty else None
    return measure_status(
        phase=header.program_phase,
        latest_measure_at={k: (v.to_pydatetime() if hasattr(v, "to_pydatetime") else v) for k, v in latest.items()},
        latest_link=snapshot(links.iloc[0]) if not links.empty else None,
        last_visit_at=last_visit.to_pydatetime() if hasattr(last_visit, "to_pydatetime") else last_visit,
        today=program_today(),
    )


def render_checkin_links(actor: Actor, header: ChartHeader, data: ChartData, *, may_act: bool) -> None:
    """The patient's check-in status and links, with a revoke action for a link still waiting."""
    links = checkin_links(actor, header.patient_id)
    status = chart_checkin_status(header, data, links)
    with st.expander(f"Patient check-in: {STATUS_WORDS.get(status, status)}", icon=":material/smartphone:"):
        if links.empty:
            st.caption("No check-in link was sent to this patient yet.")
            return
        st.dataframe(
            links,
            hide_index=True,
            width="stretch",
            column_order=list(LINK_TABLE_COLUMNS),
            column_config=LINK_TABLE_COLUMNS,
            key=f"checkin_links_{header.patient_id}",
        )
        waiting = links[links["state"] == "waiting for the patient"]
        if waiting.empty or not may_act or not actor.can("send_checkin_link"):
            return
        key = f"checkin_revoke_{header.patient_id}"
        options = {
            int(row.id): f"Sent {local_time(row.created_at.to_pydatetime())} by {row.sent_by or '—'}"
            for row in waiting.itertuples()
        }
        chosen = st.selectbox(
            "Revoke a link that has not been used", list(options), format_func=options.__getitem__, key=f"{key}_link"
        )
        if st.button("Revoke link", key=f"{key}_save") and chosen is not None:
            try:
                revoke_checkin_link(actor, int(chosen), submission=submission_token(key))
            except (InvalidInput, EditConflict) as error:
                show_save_error(error, key)
                return
            finish_form(key, "Check-in link revoked: opening it now tells the patient it was withdrawn.")
