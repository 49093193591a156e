"""The log-a-visit form: PHQ-9 and GAD-7 item by item, an optional C-SSRS screen, side effects, adherence, vitals,
notes.

Everything is one ``st.form``: answering an item sends nothing to the server (a rerun per click made the 16
PHQ-9/GAD-7 items take some 20 seconds), and the scores, severity bands and changes appear in the outcome once
the visit is saved. Only the choice of measures sits outside the form, since it decides which items are drawn."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pandas as pd
import streamlit as st

import clinical
from components.auth import session_fragment
from components.cssrs_screen import cssrs_screen
from components.forms import finish_form, form_version, show_save_error, submission_token
from db.commands import EditConflict, InvalidInput
from db.commands.visits import SideEffectEntry, VisitInput, log_visit
from db.permissions import Actor
from db.queries.caseload import program_today
from db.queries.chart import ChartData
from db.queries.patients import ChartHeader
from db.settings import get_settings

ANSWER_LABELS = {
    0: "0 · Not at all",
    1: "1 · Several days",
    2: "2 · More than half the days",
    3: "3 · Nearly every day",
}


def to_utc(day, at: time) -> datetime:  # type: ignore[no-untyped-def]
    """A date and time on the program's clock, as the naive UTC the database stores."""
    local = datetime.combine(day, at, tzinfo=get_settings().timezone)
    return local.astimezone(UTC).replace(tzinfo=None)


def measure_items(instrument: str, key: str) -> list[int | None]:
    """Radio buttons for each item of a measure (inside the form, so choosing one does not rerun the page);
    returns the answers (None where unanswered)."""
    info = clinical.instrument_info(instrument)
    st.markdown(f"**{instrument}**: over the last 2 weeks, how often bothered by")
    return [
        st.radio(
            f"{number}. {label}",
            list(ANSWER_LABELS),
            format_func=ANSWER_LABELS.__getitem__,
            index=None,
            horizontal=True,
            key=f"{key}_{instrument}_{number}",
        )
        for number, label in enumerate(info.item_labels, start=1)
    ]


@session_fragment()
def visit_form(actor: Actor, header: ChartHeader, data: ChartData, *, close: str | None = None) -> None:
    key = f"visit_{header.patient_id}"
    expected_version = form_version(key, header.version)
    token = submission_token(key)
    today = program_today()
    now_local = datetime.now(get_settings().timezone)
    given = st.columns(3)
    give_phq9 = given[0].checkbox("PHQ-9 administered", value=True, key=f"{key}_give_phq9")
    give_gad7 = given[1].checkbox("GAD-7 administered", value=True, key=f"{key}_give_gad7")
    give_cssrs = given[2].checkbox("Include C-SSRS screen", value=False, key=f"{key}_give_cssrs")
    active = (
        data.prescriptions[data.prescriptions["status"] == "active"]
        if not data.prescriptions.empty
        else data.prescriptions
    )
    drugs = list(active["drug"]) if not active.empty else []
    # enter_to_submit off: Enter in a number box must not save a half-filled visit.
    with st.form(f"{key}_form", enter_to_submit=False):
        top = st.columns(4)
        day = top[0].date_input("Visit date", value=today, max_value=today, key=f"{key}_date")
        at = top[1].time_input("Time", value=now_local.time().replace(second=0, microsecond=0), key=f"{key}_time")
        modality = top[2].radio("Modality", ["video", "phone"], horizontal=True, key=f"{key}_modality")
        duration = top[3].number_input(
            "Duration (minutes)", min_value=1, max_value=240, value=30, step=5, key=f"{key}_duration"
        )
        measures = st.columns(2)
        with measures[0]:
            phq9 = measure_items("PHQ-9", key) if give_phq9 else None
        with measures[1]:
            gad7 = measure_items("GAD-7", key) if give_gad7 else None
        screen = cssrs_screen(key) if give_cssrs else None

        st.markdown("**Side effects reviewed**")
        effects = st.data_editor(
            pd.DataFrame(
                {
                    "Medication": pd.Series(dtype="str"),
                    "Side effect": pd.Series(dtype="str"),
                    "Severity": pd.Series(dtype="str"),
                }
            ),
            num_rows="dynamic",
            hide_index=True,
            key=f"{key}_effects",
            width="stretch",
            column_config={
                "Medication": st.column_config.SelectboxColumn("Medication", options=drugs, required=True),
                "Side effect": st.column_config.TextColumn("Side effect", max_chars=200, required=True),
                "Severity": st.column_config.SelectboxColumn(
                    "Severity", options=["mild", "moderate", "severe"], required=True
                ),
            },
        )
        vitals = st.columns(7)
        missed = vitals[0].number_input(
            "Missed doses (past week)", min_value=0, max_value=60, value=0, key=f"{key}_missed"
        )
        weight = vitals[1].number_input(
            "Weight (kg, self-reported)", min_value=0.0, max_value=350.0, value=None, key=f"{key}_weight"
        )
        height = vitals[2].number_input("Height (cm)", min_value=0.0, max_value=230.0, value=None, key=f"{key}_height")
        waist = vitals[3].number_input("Waist (cm)", min_value=0.0, max_value=200.0, value=None, key=f"{key}_waist")
        systolic = vitals[4].number_input("BP systolic", min_value=0, max_value=260, value=None, key=f"{key}_sys")
        diastolic = vitals[5].number_input("BP diastolic", min_value=0, max_value=160, value=None, key=f"{key}_dia")
        pulse = vitals[6].number_input("Heart rate", min_value=0, max_value=250, value=None, key=f"{key}_pulse")
        assessment = st.text_area("Assessment", max_chars=10_000, key=f"{key}_assessment")
        plan = st.text_area("Plan", max_chars=10_000, key=f"{key}_plan")
        next_due = st.date_input(
            "Next visit due", value=today + timedelta(days=7), min_value=today, key=f"{key}_next_due"
        )
        submitted = st.form_submit_button("Save visit", type="primary", key=f"{key}_save")
    if not submitted:
        return
    unanswered = [
        name
        for name, answers in (("PHQ-9", phq9), ("GAD-7", gad7))
        if answers is not None and any(answer is None for answer in answers)
    ]
    if screen is not None and screen.unanswered:
        unanswered.append("C-SSRS (question " + ", ".join(screen.unanswered) + ")")
    if unanswered:
        st.error(f"Nothing was saved. Answer every item of {' and '.join(unanswered)}, or untick it as not given.")
        return
    entries = [
        SideEffectEntry(
            drug=str(row["Medication"]),
            symptom=str(row["Side effect"] or ""),
            severity=str(row["Severity"] or ""),
            prescription_id=_prescription_id(active, str(row["Medication"])),
        )
        for row in effects.to_dict("records")
        if row.get("Medication") or row.get("Side effect")
    ]
    visit = VisitInput(
        visit_at=to_utc(day, at),
        modality=modality,
        duration_minutes=int(duration),
        phq9=[int(a) for a in phq9] if phq9 is not None else None,  # type: ignore[arg-type]
        gad7=[int(a) for a in gad7] if gad7 is not None else None,  # type: ignore[arg-type]
        cssrs=screen.answers if screen is not None else None,
        higher_level_of_care_considered=screen.higher_level_of_care_considered if screen is not None else False,
        higher_level_of_care_note=screen.higher_level_of_care_note if screen is not None else "",
        side_effects=entries,
        missed_doses=int(missed),
        weight_kg=weight,
        height_cm=height,
        waist_cm=waist,
        heart_rate=int(pulse) if pulse else None,
        bp_systolic=int(systolic) if systolic else None,
        bp_diastolic=int(diastolic) if diastolic else None,
        assessment_note=assessment,
        plan_note=plan,
        next_visit_due=next_due,
    )
    try:
        result = log_visit(actor, header.patient_id, visit, expected_patient_version=expected_version, submission=token)
    except (InvalidInput, EditConflict) as error:
        show_save_error(error, key)
        return
    finish_form(key, result.summary(), close=close, urgent=result.urgent)


def _prescription_id(active: pd.DataFrame, drug: str) -> int | None:
    matches = active[active["drug"] == drug] if not active.empty else active
    return int(matches.iloc[0]["id"]) if not matches.empty else None
