"""The intake evaluation form (first visit): histories, prior trials, reconciliation, allergies, diagnoses,
C-SSRS screen and treatment plan."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pandas as pd
import streamlit as st

from components.auth import session_fragment
from components.forms import finish_form, form_version, show_save_error, submission_token
from components.medication_form import render_review
from components.visit_form import to_utc
from db.commands import EditConflict, InvalidInput, SafetyBlock
from db.commands.intake import IntakeInput, OutsideMedication, PriorTrial, preview_reconciliation, record_intake
from db.commands.medications import SafetyReview
from db.commands.visits import VisitInput
from db.permissions import Actor
from db.queries.caseload import program_today
from db.queries.patients import ChartHeader
from db.settings import get_settings

CSSRS_QUESTIONS = {
    "q1": "1. Wished you were dead or could go to sleep and not wake up? (past month)",
    "q2": "2. Had any actual thoughts of killing yourself? (past month)",
    "q3": "3. Thought about how you might do this? (past month)",
    "q4": "4. Had any intention of acting on these thoughts? (past month)",
    "q5": "5. Started to work out or worked out the details, and intend to carry them out? (past month)",
    "q6": "6. Ever done, started or prepared to do anything to end your life?",
}


def _rows(table: pd.DataFrame) -> list[dict]:
    return [row for row in table.to_dict("records") if any(str(v or "").strip() for v in row.values())]


@session_fragment()
def intake_form(actor: Actor, header: ChartHeader, *, close: str | None = None) -> None:
    key = f"intake_{header.patient_id}"
    expected_version = form_version(key, header.version)
    token = submission_token(key)
    today = program_today()
    now_local = datetime.now(get_settings().timezone)
    top = st.columns(3)
    modality = top[0].radio("Modality", ["video", "phone"], horizontal=True, key=f"{key}_modality")
    duration = top[1].number_input("Duration (minutes)", min_value=1, max_value=240, value=60, key=f"{key}_duration")
    next_due = top[2].date_input(
        "Next visit due", value=today + timedelta(days=7), min_value=today, key=f"{key}_next_due"
    )
    medical = st.text_area("Medical history", max_chars=10_000, key=f"{key}_medical")
    psychiatric = st.text_area("Psychiatric history", max_chars=10_000, key=f"{key}_psychiatric")
    substance = st.text_area("Substance use", max_chars=10_000, key=f"{key}_substance")
    st.markdown("**Prior medication trials**")
    trials = st.data_editor(
        pd.DataFrame(columns=["Drug", "Highest dose", "Response", "Side effects"]),
        num_rows="dynamic",
        hide_index=True,
        key=f"{key}_trials",
        width="stretch",
    )
    st.markdown("**Outside medications (reconciliation)**")
    outside = st.data_editor(
        pd.DataFrame(columns=["Drug", "Dose", "Decision", "Note"]),
        num_rows="dynamic",
        hide_index=True,
        key=f"{key}_outside",
        width="stretch",
        column_config={
            "Decision": st.column_config.SelectboxColumn(
                "Decision", options=["continue", "change", "stop"], required=True
            )
        },
    )
    columns = st.columns(2)
    with columns[0]:
        st.markdown("**Allergies**")
        allergies = st.data_editor(
            pd.DataFrame(columns=["Substance", "Reaction"]),
            num_rows="dynamic",
            hide_index=True,
            key=f"{key}_allergies",
            width="stretch",
        )
    with columns[1]:
        st.markdown("**Diagnoses (ICD-10-CM)**")
        diagnoses = st.data_editor(
            pd.DataFrame(
                {
                    "Code": pd.Series(dtype="str"),
                    "Description": pd.Series(dtype="str"),
                    "Primary": pd.Series(dtype="bool"),
                }
            ),
            num_rows="dynamic",
            hide_index=True,
            key=f"{key}_diagnoses",
            width="stretch",
        )
    st.markdown("**C-SSRS screener**")
    answers: dict[str, object] = {}
    for question, text in CSSRS_QUESTIONS.items():
        if question in ("q3", "q4", "q5") and not answers.get("q2"):
            continue  # asked only when question 2 is yes
        answers[question] = st.radio(
            text, [False, True], format_func=lambda v: "Yes" if v else "No", horizontal=True, key=f"{key}_{question}"
        )
    if answers.get("q6"):
        answers["q6_months_ago"] = st.number_input(
            "How many months ago?", min_value=0, max_value=600, value=0, key=f"{key}_q6_months"
        )
    considered = st.checkbox("A higher level of care was considered", key=f"{key}_loc")
    loc_note = st.text_input("Higher level of care: decision and reason", max_chars=2000, key=f"{key}_loc_note")
    plan = st.text_area("Treatment plan", max_chars=10_000, key=f"{key}_plan")
    visit = VisitInput(
        visit_at=to_utc(today, now_local.time().replace(second=0, microsecond=0)),
        modality=modality,
        duration_minutes=int(duration),
        next_visit_due=next_due,
        plan_note=plan,
    )
    intake = IntakeInput(
        visit=visit,
        cssrs=answers,
        medical_history=medical,
        psychiatric_history=psychiatric,
        substance_use=substance,
        treatment_plan=plan,
        prior_trials=[
            PriorTrial(
                str(r.get("Drug") or ""),
                str(r.get("Highest dose") or ""),
                str(r.get("Response") or ""),
                str(r.get("Side effects") or ""),
            )
            for r in _rows(trials)
        ],
        outside_medications=[
            OutsideMedication(
                str(r.get("Drug") or ""),
                str(r.get("Dose") or ""),
                str(r.get("Decision") or ""),
                str(r.get("Note") or ""),
            )
            for r in _rows(outside)
        ],
        allergies=[(str(r.get("Substance") or ""), str(r.get("Reaction") or "")) for r in _rows(allergies)],
        diagnoses=[
            (str(r.get("Code") or ""), str(r.get("Description") or ""), bool(r.get("Primary")))
            for r in _rows(diagnoses)
        ],
        higher_level_of_care_considered=considered,
        higher_level_of_care_note=loc_note,
    )
    override, acknowledge = _reconciliation_review(actor, header, intake, key)
    if not st.button("Save intake", type="primary", key=f"{key}_save"):
        return
    intake = replace(intake, reconciliation_override=override, acknowledge_interactions=acknowledge)
    try:
        result = record_intake(
            actor, header.patient_id, intake, expected_patient_version=expected_version, submission=token
        )
    except (InvalidInput, SafetyBlock, EditConflict) as error:
        show_save_error(error, key)
        return
    finish_form(key, result.summary().replace("Visit saved", "Intake saved", 1), close=close, urgent=result.urgent)


def _reconciliation_review(actor: Actor, header: ChartHeader, intake: IntakeInput, key: str) -> tuple[str, bool]:
    """The start-medication safety review of the outside medications the patient continues, shown before saving,
    with the override reason or acknowledgement it asks for."""
    reviews = [review for review in preview_reconciliation(actor, header.patient_id, intake) if _has_findings(review)]
    if not reviews:
        return "", False
    st.markdown("**Safety review of the reconciled medications**")
    for review in reviews:
        render_review(review)
    override = ""
    if any(review.needs_override for review in reviews):
        override = st.text_area(
            "Override reason for continuing them (documented in the record)", max_chars=2000, key=f"{key}_override"
        )
    acknowledge = False
    if any(review.needs_acknowledgement for review in reviews):
        acknowledge = st.checkbox(
            "I have reviewed the findings that need acknowledgement and accept the risk", key=f"{key}_acknowledge"
        )
    return override, acknowledge


def _has_findings(review: SafetyReview) -> bool:
    return bool(review.blocking or review.needs_override or review.needs_acknowledgement or review.interactions)
