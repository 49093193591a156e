"""The patient chart: header first (readable in five seconds), the timeline, then the clinical sections."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from components.forms import escape_markdown
from components.tables import CHART_DATE, DATE, DATETIME, dose_text, labelled_table
from components.timeline import RANGES, arrow_datasets, default_range, time_window, timeline_spec
from components.visit_summary import render_visit_summary
from db.engine import utcnow
from db.permissions import Actor
from db.queries.caseload import program_today
from db.queries.chart import ChartData, chart_data
from db.queries.patients import ChartHeader, age_on, open_chart
from db.queries.vitals import vitals_due, vitals_history


def render_header(header: ChartHeader, open_flags: pd.DataFrame) -> None:
    today = program_today()
    urgent = open_flags[open_flags["severity"] == "urgent"] if not open_flags.empty else open_flags
    for flag in urgent.itertuples():
        st.error(
            escape_markdown(f"URGENT {flag.kind.replace('_', ' ')} ({flag.state}): {flag.summary}"),
            icon=":material/emergency:",
        )
    st.title(escape_markdown(header.display_name))  # a stored name is shown as typed, never as markdown
    # Short on purpose: the visit summary below it has to fit above the fold at 1440x900.
    st.text(
        f"{header.mrn} · {age_on(header.date_of_birth, today)} y · {header.sex} · phase: {header.program_phase}"
        + ("" if header.telehealth_consent_date else " · NO TELEHEALTH CONSENT ON FILE")
    )


def render_header_details(header: ChartHeader) -> None:
    """What the header used to show and a medication visit rarely needs, one click away."""
    with st.expander("Diagnoses, contact, care team, pharmacy, consent"):
        left, middle, right = st.columns(3)
        with left:
            st.caption("Diagnoses")
            st.text(
                "\n".join(f"{'★ ' if primary else ''}{code} {text}" for code, text, primary in header.diagnoses)
                or "None recorded"
            )
            st.caption("Clinical status (used by the safety checks)")
            st.text(header.clinical_status())
            st.caption("Program")
            st.text(f"{header.program_phase} since {header.program_start_date} · lives in {header.state_of_residence}")
        with middle:
            st.caption("Emergency contact")
            st.text(header.emergency_contact or "None recorded")
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
    spec = timeline_spec(data.assessments, data.dose_changes, data.side_effects, start=start, end=end)
    st.vega_lite_chart(
        spec=arrow_datasets(spec),
        width="stretch",  # the panels are "container" wide: the chart fits the page, legends included
        theme="streamlit",  # axis, title and legend colours follow the light or dark theme
        key=f"{key}_timeline",
    )
    st.caption(
        "Dashed vertical lines mark medication starts, dose changes and stops; on each score panel the grey "
        "dashed line is the baseline (first score) and the green dotted line the 50 % response level; a pink "
        "diamond marks every PHQ-9 with item 9 above 0. Hover any mark for details (a score shows its item "
        "answers). Drag to pan, scroll to zoom."
    )


def _level_trend(results: pd.DataFrame) -> alt.Chart | None:
    levels = results[results["test"].str.contains("level|ANC", case=False, regex=True)]
    if levels.empty:
        return None
    return (
        alt.Chart(levels)
        .mark_line(point=True)
        .encode(
            x=alt.X("collected_on:T", title=None, axis=alt.Axis(format=CHART_DATE)),
            y=alt.Y("value:Q", title="Result"),
            color=alt.Color("test:N", title="Test", legend=alt.Legend(orient="bottom")),
            tooltip=[
                alt.Tooltip("collected_on:T", title="Collected", format=CHART_DATE),
                alt.Tooltip("test:N", title="Test"),
                alt.Tooltip("value:Q", title="Result"),
                alt.Tooltip("unit:N", title="Unit"),
                alt.Tooltip("interpretation:N", title="Interpretation"),
            ],
        )
        .properties(height=180)
    )


def render_vitals(data: ChartData) -> None:
    """Vitals the monitoring rules ask for (due and overdue, like labs), their history with BMI, and a trend."""
    due = vitals_due(data.prescriptions, data.visits, today=program_today())
    st.subheader("Due and overdue")
    if due.empty:
        st.caption("No vital signs are required by the active medications' monitoring.")
    else:
        labelled_table(due, VITALS_DUE_COLUMNS)
    history = vitals_history(data.visits)
    st.subheader("Recorded")
    if history.empty:
        st.caption("No vital signs recorded yet.")
        return
    labelled_table(history.sort_values("visit_at", ascending=False), VITALS_COLUMNS)
    trend = history.melt(id_vars="visit_at", value_vars=["weight_kg", "bmi"], var_name="measure").dropna()
    if not trend.empty:
        trend["measure"] = trend["measure"].map({"weight_kg": "Weight (kg)", "bmi": "BMI (kg/m²)"})
        st.altair_chart(
            alt.Chart(trend)
            .mark_line(point=True)
            .encode(
                x=alt.X("visit_at:T", title=None, axis=alt.Axis(format=CHART_DATE)),
                y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
                row=alt.Row("measure:N", title=None),
                tooltip=[
                    alt.Tooltip("visit_at:T", title="Visit", format=CHART_DATE),
                    alt.Tooltip("measure:N", title="Measure"),
                    alt.Tooltip("value:Q", title="Value", format=".1f"),
                ],
            )
            .resolve_scale(y="independent")
            .properties(height=120),
            width="stretch",
            theme="streamlit",
        )


# Human labels for the chart's tables; a column not listed here is not shown (internal ids and versions).
VITALS_DUE_COLUMNS = {
    "vital": st.column_config.TextColumn("Vital sign"),
    "status": st.column_config.TextColumn("Status"),
    "due_by": st.column_config.DateColumn("Due by", format=DATE),
    "last_recorded": st.column_config.DateColumn("Last recorded", format=DATE),
    "required_by": st.column_config.TextColumn("Required by", width="medium"),
}
VITALS_COLUMNS = {
    "visit_at": st.column_config.DatetimeColumn("Visit", format=DATE),
    "weight_kg": st.column_config.NumberColumn("Weight", format="%.1f kg"),
    "bmi": st.column_config.NumberColumn("BMI", format="%.1f kg/m²"),
    "bp_systolic": st.column_config.NumberColumn("Systolic", format="%d mmHg"),
    "bp_diastolic": st.column_config.NumberColumn("Diastolic", format="%d mmHg"),
    "heart_rate": st.column_config.NumberColumn("Heart rate", format="%d /min"),
    "waist_cm": st.column_config.NumberColumn("Waist", format="%.0f cm"),
    "height_cm": st.column_config.NumberColumn("Height", format="%.0f cm"),
}
MEDICATION_COLUMNS = {
    "drug": st.column_config.TextColumn("Medication"),
    "dose_text": st.column_config.TextColumn("Dose"),
    "daily_dose_mg": st.column_config.NumberColumn("Daily dose", format="%g mg"),
    "start_date": st.column_config.DateColumn("Since", format=DATE),
    "route": st.column_config.TextColumn("Route"),
    "is_psychiatric": st.column_config.CheckboxColumn("Psychiatric"),
    "source": st.column_config.TextColumn("Prescribed by (outside)"),
    "last_fill_date": st.column_config.DateColumn("Last filled", format=DATE),
    "quantity": st.column_config.NumberColumn("Quantity", format="%g"),
    "days_supply": st.column_config.NumberColumn("Days' supply", format="%d"),
    "status": st.column_config.TextColumn("Status"),
    "stop_date": st.column_config.DateColumn("Stopped", format=DATE),
    "stop_reason": st.column_config.TextColumn("Why stopped", width="large"),
}
DOSE_CHANGE_COLUMNS = {
    "changed_at": st.column_config.DatetimeColumn("When", format=DATETIME),
    "drug": st.column_config.TextColumn("Medication"),
    "change_type": st.column_config.TextColumn("Change"),
    "from_dose": st.column_config.TextColumn("From"),
    "to_dose": st.column_config.TextColumn("To"),
    "reason": st.column_config.TextColumn("Reason", width="large"),
    "override_reason": st.column_config.TextColumn("Safety override reason", width="medium"),
    "author": st.column_config.TextColumn("By"),
    "old_daily_mg": st.column_config.NumberColumn("From daily", format="%g mg"),
    "new_daily_mg": st.column_config.NumberColumn("To daily", format="%g mg"),
}
SIDE_EFFECT_COLUMNS = {
    "reported_at": st.column_config.DatetimeColumn("Reported", format=DATE),
    "drug": st.column_config.TextColumn("Medication"),
    "symptom": st.column_config.TextColumn("Symptom"),
    "severity": st.column_config.TextColumn("Severity"),
    "source": st.column_config.TextColumn("Reported by"),
    "note": st.column_config.TextColumn("Note", width="large"),
}
LAB_ORDER_COLUMNS = {
    "test": st.column_config.TextColumn("Test"),
    "overdue": st.column_config.CheckboxColumn("Overdue"),
    "due_by": st.column_config.DateColumn("Due by", format=DATE),
    "drug": st.column_config.TextColumn("For medication"),
    "reason": st.column_config.TextColumn("Why ordered", width="large"),
    "ordered_at": st.column_config.DatetimeColumn("Ordered", format=DATE),
    "status": st.column_config.TextColumn("Status"),
}
LAB_RESULT_COLUMNS = {
    "collected_on": st.column_config.DateColumn("Collected", format=DATE),
    "test": st.column_config.TextColumn("Test"),
    "result": st.column_config.TextColumn("Result"),
    "interpretation": st.column_config.TextColumn("Interpretation"),
    "is_abnormal": st.column_config.CheckboxColumn("Abnormal"),
    "is_critical": st.column_config.CheckboxColumn("Critical"),
    "reference": st.column_config.TextColumn("Reference range"),
}
REFILL_COLUMNS = {
    "requested_at": st.column_config.DatetimeColumn("Requested", format=DATE),
    "drug": st.column_config.TextColumn("Medication"),
    "status": st.column_config.TextColumn("Status"),
    "quantity": st.column_config.NumberColumn("Quantity", format="%g"),
    "days_supply": st.column_config.NumberColumn("Days' supply", format="%d"),
    "is_early": st.column_config.CheckboxColumn("Early"),
    "decision_reason": st.column_config.TextColumn("Decision reason", width="large"),
    "decided_at": st.column_config.DatetimeColumn("Decided", format=DATE),
}
FLAG_COLUMNS = {
    "severity": st.column_config.TextColumn("Severity"),
    "state": st.column_config.TextColumn("State"),
    "kind": st.column_config.TextColumn("Flag"),
    "summary": st.column_config.TextColumn("What raised it", width="large"),
    "owner": st.column_config.TextColumn("Owner"),
    "raised_at": st.column_config.DatetimeColumn("Raised", format=DATETIME),
    "last_finding_at": st.column_config.DatetimeColumn("Last finding", format=DATETIME),
    "finding_count": st.column_config.NumberColumn("Findings", format="%d"),
    "resolved_at": st.column_config.DatetimeColumn("Resolved", format=DATETIME),
}
AMENDMENT_COLUMNS = {
    "amended_at": st.column_config.DatetimeColumn("Amended", format=DATETIME),
    "target_table": st.column_config.TextColumn("Record"),
    "field": st.column_config.TextColumn("Field"),
    "old_value": st.column_config.TextColumn("Was", width="medium"),
    "new_value": st.column_config.TextColumn("Now", width="medium"),
    "reason": st.column_config.TextColumn("Reason", width="large"),
    "author": st.column_config.TextColumn("By"),
}


def medication_rows(prescriptions: pd.DataFrame) -> pd.DataFrame:
    """Prescriptions with the dose as one text, unit and frequency included ('50 mg once daily')."""
    return prescriptions.assign(
        dose_text=[
            dose_text(dose, unit, frequency)
            for dose, unit, frequency in zip(
                prescriptions["dose"], prescriptions["unit"], prescriptions["frequency"], strict=True
            )
        ]
    )


def dose_change_rows(dose_changes: pd.DataFrame) -> pd.DataFrame:
    """The dose history with 'from' and 'to' as dose texts with unit and frequency."""
    return dose_changes.assign(
        from_dose=[
            dose_text(*values)
            for values in zip(
                dose_changes["old_dose"], dose_changes["unit"], dose_changes["old_frequency"], strict=True
            )
        ],
        to_dose=[
            dose_text(*values)
            for values in zip(
                dose_changes["new_dose"], dose_changes["unit"], dose_changes["new_frequency"], strict=True
            )
        ],
    )


def lab_result_rows(results: pd.DataFrame) -> pd.DataFrame:
    """Results with the value and its unit as one text, and the reference range as 'low–high unit'."""

    def bound(value: object) -> str:
        return "" if value is None or pd.isna(value) else f"{float(value):g}"  # type: ignore[arg-type]

    return results.assign(
        result=[
            f"{float(value):g} {unit or ''}".strip()
            for value, unit in zip(results["value"], results["unit"], strict=True)
        ],
        reference=[
            f"{bound(low)}–{bound(high)} {unit or ''}".strip() if bound(low) or bound(high) else ""
            for low, high, unit in zip(results["ref_low"], results["ref_high"], results["unit"], strict=True)
        ],
    )


SECTIONS = ("Medications", "Side effects", "Labs", "Vitals", "Refills", "Visits", "Flags", "Amendments")


def render_sections(data: ChartData, *, key: str = "chart_section") -> None:
    """One section at a time, the one the user picks: tabs would build every section's tables (and thirty visit
    expanders) on every view, though the user reads one."""
    section = st.segmented_control("Section", SECTIONS, default=SECTIONS[0], key=key) or SECTIONS[0]
    if section == "Medications":
        active = (
            data.prescriptions[data.prescriptions["status"] == "active"]
            if not data.prescriptions.empty
            else data.prescriptions
        )
        st.subheader("Active medications")
        labelled_table(medication_rows(active), MEDICATION_COLUMNS, empty_message="No active medications.")
        st.subheader("Dose history")
        labelled_table(
            dose_change_rows(data.dose_changes.sort_values("changed_at", ascending=False)), DOSE_CHANGE_COLUMNS
        )
    elif section == "Side effects":
        labelled_table(
            data.side_effects.sort_values("reported_at", ascending=False),
            SIDE_EFFECT_COLUMNS,
            severity_columns=["severity"],
        )
    elif section == "Labs":
        st.subheader("Pending and overdue")
        labelled_table(data.lab_orders, LAB_ORDER_COLUMNS)
        st.subheader("Results")
        labelled_table(
            lab_result_rows(data.lab_results.sort_values("collected_on", ascending=False)), LAB_RESULT_COLUMNS
        )
        trend = _level_trend(data.lab_results)
        if trend is not None:
            st.altair_chart(trend, width="stretch", theme="streamlit")
    elif section == "Vitals":
        render_vitals(data)
    elif section == "Refills":
        labelled_table(data.refills, REFILL_COLUMNS)
    elif section == "Visits":
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
    elif section == "Flags":
        labelled_table(data.flags, FLAG_COLUMNS, severity_columns=["severity"])
    else:
        labelled_table(data.amendments, AMENDMENT_COLUMNS)


def render_chart(actor: Actor, patient_id: int, *, show_crisis_plan: bool = False) -> tuple[ChartHeader, ChartData]:
    """The chart's first screen: header, visit summary (with the crisis plan open when asked), timeline."""
    header = open_chart(actor, patient_id)
    data = chart_data(actor, patient_id)
    open_flags = data.flags[data.flags["state"] != "resolved"] if not data.flags.empty else data.flags
    render_header(header, open_flags)
    render_visit_summary(header, data, today=program_today(), show_crisis_plan=show_crisis_plan)
    render_header_details(header)
    render_timeline(data, key=f"chart_{patient_id}")
    return header, data
