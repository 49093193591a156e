"""The patient chart: header first (readable in five seconds), the timeline, then the clinical sections."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from components.forms import escape_markdown
from components.timeline import RANGES, default_range, time_window, timeline_spec
from db.engine import utcnow
from db.permissions import Actor
from db.queries.caseload import program_today
from db.queries.chart import ChartData, chart_data
from db.queries.patients import ChartHeader, age_on, open_chart


def render_header(header: ChartHeader, open_flags: pd.DataFrame) -> None:
    today = program_today()
    urgent = open_flags[open_flags["severity"] == "urgent"] if not open_flags.empty else open_flags
    for flag in urgent.itertuples():
        st.error(
            escape_markdown(f"URGENT {flag.kind.replace('_', ' ')} ({flag.state}): {flag.summary}"),
            icon=":material/emergency:",
        )
    st.title(escape_markdown(header.display_name))  # a stored name is shown as typed, never as markdown
    st.text(
        f"{header.mrn} · {age_on(header.date_of_birth, today)} y · {header.sex} · lives in "
        f"{header.state_of_residence} · phase: {header.program_phase} since {header.program_start_date}"
        f" · next visit due: {header.next_visit_due or '—'}"
        + (" (OVERDUE)" if header.next_visit_due is not None and header.next_visit_due < today else "")
    )
    left, middle, right = st.columns(3)
    with left:
        st.caption("Diagnoses")
        st.text(
            "\n".join(f"{'★ ' if primary else ''}{code} {text}" for code, text, primary in header.diagnoses)
            or "None recorded"
        )
        st.caption("Allergies")
        st.text(
            "\n".join(f"{substance}{f' ({reaction})' if reaction else ''}" for substance, reaction in header.allergies)
            or "No known allergies"
        )
        st.caption("Clinical status (used by the safety checks)")
        st.text(header.clinical_status())
    with middle:
        st.caption("Emergency contact")
        st.text(header.emergency_contact or "None recorded")
        st.caption("Crisis plan")
        st.text(header.crisis_plan or "None recorded")
    with right:
        st.caption("Care team")
        st.text(f"Prescriber: {header.prescriber_name or '—'}\nNurse: {header.nurse_name or '—'}")
        st.caption("Pharmacy · primary care")
        st.text(f"{header.preferred_pharmacy or '—'}\n{header.primary_care_clinician or '—'}")
        st.caption("Telehealth consent")
        if header.telehealth_consent_date:
            st.text(str(header.telehealth_consent_date))
        else:
            st.warning("No telehealth consent on file")


def render_timeline(data: ChartData, *, key: str) -> None:
    now = utcnow()
    times = [
        frame[column].min()
        for frame, column in ((data.assessments, "administered_at"), (data.dose_changes, "changed_at"))
        if not frame.empty
    ]
    first = min(times) if times else None
    options = list(RANGES)
    choice = st.segmented_control("Time range", options, default=default_range(first, now), key=f"{key}_range")
    start, end = time_window(choice or "All", first, now)
    st.vega_lite_chart(
        spec=timeline_spec(data.assessments, data.dose_changes, data.side_effects, start=start, end=end),
        width="content",
        key=f"{key}_timeline",
    )
    st.caption(
        "Dashed lines mark medication starts, dose changes and stops; hover any mark for details. "
        "Drag to pan, scroll to zoom."
    )


def _level_trend(results: pd.DataFrame) -> alt.Chart | None:
    levels = results[results["test"].str.contains("level|ANC", case=False, regex=True)]
    if levels.empty:
        return None
    return (
        alt.Chart(levels)
        .mark_line(point=True)
        .encode(
            x=alt.X("collected_on:T", title=None),
            y=alt.Y("value:Q", title="Result"),
            color=alt.Color("test:N", title="Test"),
            tooltip=[
                "test:N",
                "value:Q",
                "unit:N",
                "interpretation:N",
                alt.Tooltip("collected_on:T", format="%Y-%m-%d"),
            ],
        )
        .properties(height=180)
    )


def render_sections(data: ChartData) -> None:
    tabs = st.tabs(["Medications", "Side effects", "Labs", "Refills", "Visits", "Flags", "Amendments"])
    with tabs[0]:
        active = (
            data.prescriptions[data.prescriptions["status"] == "active"]
            if not data.prescriptions.empty
            else data.prescriptions
        )
        st.subheader("Active medications")
        st.dataframe(active.drop(columns=["id", "version"], errors="ignore"), hide_index=True, width="stretch")
        st.subheader("Dose history")
        st.dataframe(
            data.dose_changes.drop(columns=["id", "prescription_id"], errors="ignore").sort_values(
                "changed_at", ascending=False
            ),
            hide_index=True,
            width="stretch",
        )
    with tabs[1]:
        st.dataframe(
            data.side_effects.drop(columns=["id"], errors="ignore").sort_values("reported_at", ascending=False),
            hide_index=True,
            width="stretch",
        )
    with tabs[2]:
        st.subheader("Pending and overdue")
        st.dataframe(data.lab_orders.drop(columns=["id", "version"], errors="ignore"), hide_index=True, width="stretch")
        st.subheader("Results")
        results = data.lab_results.drop(columns=["id"], errors="ignore").sort_values("collected_on", ascending=False)
        st.dataframe(
            results,
            hide_index=True,
            width="stretch",
            column_config={
                "is_abnormal": st.column_config.CheckboxColumn("Abnormal"),
                "is_critical": st.column_config.CheckboxColumn("Critical"),
            },
        )
        trend = _level_trend(data.lab_results)
        if trend is not None:
            st.altair_chart(trend, width="stretch")
    with tabs[3]:
        st.dataframe(data.refills.drop(columns=["id"], errors="ignore"), hide_index=True, width="stretch")
    with tabs[4]:
        for visit in data.visits.head(30).itertuples():
            with st.expander(
                escape_markdown(
                    f"{visit.visit_at:%Y-%m-%d %H:%M} · {visit.visit_type} · {visit.modality} · {visit.clinician or ''}"
                )
            ):
                st.caption("Assessment")
                st.text(visit.assessment_note or "—")
                st.caption("Plan")
                st.text(visit.plan_note or "—")
    with tabs[5]:
        st.dataframe(
            data.flags.drop(columns=["id", "severity_rank", "version"], errors="ignore"),
            hide_index=True,
            width="stretch",
        )
    with tabs[6]:
        st.dataframe(data.amendments, hide_index=True, width="stretch")


def render_chart(actor: Actor, patient_id: int) -> tuple[ChartHeader, ChartData]:
    header = open_chart(actor, patient_id)
    data = chart_data(actor, patient_id)
    open_flags = data.flags[data.flags["state"] != "resolved"] if not data.flags.empty else data.flags
    render_header(header, open_flags)
    render_timeline(data, key=f"chart_{patient_id}")
    return header, data
