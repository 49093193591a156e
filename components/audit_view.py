"""Audit trail search: time range, user, patient, action and data category; sortable; audited export."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import streamlit as st

from components.downloads import audited_csv_download
from components.tables import labelled_table
from db.permissions import Actor
from db.queries.caseload import program_today
from db.queries.program import audit_events, audit_vocabulary, emergency_access_log
from db.settings import get_settings

AUDIT_COLUMNS = {
    "at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "username": st.column_config.TextColumn("User"),
    "role": st.column_config.TextColumn("Role"),
    "action": st.column_config.TextColumn("Action"),
    "outcome": st.column_config.TextColumn("Outcome"),
    "patient_mrn": st.column_config.TextColumn("Patient MRN"),
    "data_category": st.column_config.TextColumn("Data category"),
    "record_type": st.column_config.TextColumn("Record"),
    "record_id": st.column_config.TextColumn("Record id"),
    "detail": st.column_config.TextColumn("Detail", width="large"),
    "id": st.column_config.NumberColumn("Event #", format="%d"),
}
EMERGENCY_ACCESS_COLUMNS = {
    "granted_at": st.column_config.DatetimeColumn("Opened (UTC)", format="YYYY-MM-DD HH:mm"),
    "user": st.column_config.TextColumn("User"),
    "role": st.column_config.TextColumn("Role"),
    "mrn": st.column_config.TextColumn("Patient MRN"),
    "category": st.column_config.TextColumn("Reason category"),
    "reason": st.column_config.TextColumn("Reason given", width="large"),
    "care_actions": st.column_config.CheckboxColumn("Care actions allowed"),
    "expires_at": st.column_config.DatetimeColumn("Expires (UTC)", format="YYYY-MM-DD HH:mm"),
}


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
    labelled_table(table, AUDIT_COLUMNS, key="audit_table")
    audited_csv_download(actor, table, name="audit_trail", key="audit_csv")
    st.subheader("Emergency access (break the glass)")
    grants = emergency_access_log(actor)
    st.caption("Every chart opened outside a caseload in an emergency, with the reason given; review each one.")
    labelled_table(grants, EMERGENCY_ACCESS_COLUMNS, key="break_glass_table", wrap=True)
