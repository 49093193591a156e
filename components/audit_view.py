"""Audit trail search: time range, user, patient, action and data category; sortable; audited export."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import streamlit as st

from components.downloads import audited_csv_download
from db.permissions import Actor
from db.queries.caseload import program_today
from db.queries.program import audit_events, audit_vocabulary, emergency_access_log
from db.settings import get_settings


def _utc(day, at: time) -> datetime:  # type: ignore[no-untyped-def]
    return datetime.combine(day, at, tzinfo=get_settings().timezone).astimezone(UTC).replace(tzinfo=None)


def render_audit(actor: Actor) -> None:
    vocabulary = audit_vocabulary(actor)
    today = program_today()
    row = st.columns(5)
    since = row[0].date_input("From", value=today - timedelta(days=7), key="audit_from")
    until = row[1].date_input("To", value=today, key="audit_to")
    username = row[2].selectbox("User", vocabulary["username"], index=None, key="audit_user", placeholder="Anyone")
    action = row[3].selectbox("Action", vocabulary["action"], index=None, key="audit_action", placeholder="Any")
    category = row[4].selectbox(
        "Data category", vocabulary["data_category"], index=None, key="audit_category", placeholder="Any"
    )
    mrn = st.text_input("Patient MRN", key="audit_mrn", max_chars=20)
    table = audit_events(
        actor,
        since=_utc(since, time.min),
        until=_utc(until + timedelta(days=1), time.min),
        username=username,
        action=action,
        data_category=category,
        patient_mrn=mrn.strip() or None,
    )
    st.caption(f"{len(table)} events (newest first; click a column header to sort). Times are UTC.")
    st.dataframe(table, hide_index=True, width="stretch", key="audit_table")
    audited_csv_download(actor, table, name="audit_trail", key="audit_csv")
    st.subheader("Emergency access (break the glass)")
    grants = emergency_access_log(actor)
    st.caption("Every chart opened outside a caseload in an emergency, with the reason given; review each one.")
    st.dataframe(grants, hide_index=True, width="stretch", key="break_glass_table")
