"""The intake evaluation form (first visit): histories, prior trials, reconciliation, allergies, diagnoses,
C-SSRS screen and treatment plan.

One ``st.form``: nothing is sent until it is submitted. The safety review of the outside medications the
patient continues is made from the submitted form: when it has findings not yet shown, nothing is saved, the
review is shown above the save button with the override reason or acknowledgement it asks for, and the next
submit saves (the command runs the review again)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import streamlit as st

from components.auth import session_fragment
from components.cssrs_screen import cssrs_screen
from components.forms import finish_form, form_version, show_save_error, submission_token
from components.medication_form import render_review, review_findings
from components.visit_form import to_utc
from db.commands import EditConflict, InvalidInput, SafetyBlock
from db.commands.intake import IntakeInput, OutsideMedication, PriorTrial, preview_reconciliation, record_intake
from db.commands.medications import SafetyReview
from db.commands.visits import VisitInput
from db.permissions import Actor
from db.queries.caseload import program_today
from db.queries.patients import ChartHeader
from db.settings import get_settings


def _rows(table: pd.DataFrame) -> list[dict]:
    return [row for row in table.to_dict("records") if any(str(v or "").strip() for v in row.values())]


@session_fragment()
def intake_form(actor: Actor, header: ChartHeader, *, close: str | None = None) -> None:
    key = f"intake_{header.patient_id}"
    expected_version = form_version(key, header.version)
    token = submission_token(key)
    today = program_today()
    now_local = datetime.now(get_settings().timezone)
    reviews_key = f"{key}__reconciliation_reviews"
    shown: list[SafetyReview] = st.session_state.get(reviews_key, [])
    with st.form(f"{key}_form", enter_to_submit=False):
        top = st.columns(3)
        modality = top[0].radio("Modality", ["video", "phone"], horizontal=True, key=f"{key}_modality")
        duration = top[1].number_input(
            "Duration (minutes)", min_value=1, max_value=240, value=60, key=f"{key}_duration"
        )
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
        screen = cssrs_screen(key)
        plan = st.text_area("Treatment plan", max_chars=10_000, key=f"{key}_plan")
        override, acknowledge = _reconciliation_review(shown, key)
        submitted = st.form_submit_button("Save intake", type="primary", key=f"{key}_save")
    if not submitted:
        return
    if screen.unanswered:
        st.error(f"Nothing was saved. Answer every item of C-SSRS (question {', '.join(screen.unanswered)}).")
        return
    visit = VisitInput(
        visit_at=to_utc(today, now_local.time().replace(second=0, microsecond=0)),
        modality=modality,
        duration_minutes=int(duration),
        next_visit_due=next_due,
        plan_note=plan,
    )
    intake = IntakeInput(
        visit=visit,
        cssrs=screen.answers,
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
        higher_level_of_care_considered=screen.higher_level_of_care_considered,
        higher_level_of_care_note=screen.higher_level_of_care_note,
        reconciliation_override=override,
        acknowledge_interactions=acknowledge,
    )
    reviews = [review for review in preview_reconciliation(actor, header.patient_id, intake) if _has_findings(review)]
    if not reviews:
        st.session_state.pop(reviews_key, None)  # the medications that had findings are no longer continued
    elif _findings(reviews) != _findings(shown):
        # Findings the user has not seen: nothing is saved; the form is drawn again with them above its button.
        st.session_state[reviews_key] = reviews
        st.session_state[f"{key}__review_changed"] = True
        st.rerun()
    try:
        result = record_intake(
            actor, header.patient_id, intake, expected_patient_version=expected_version, submission=token
        )
    except (InvalidInput, SafetyBlock, EditConflict) as error:
        show_save_error(error, key)
        return
    finish_form(key, result.summary().replace("Visit saved", "Intake saved", 1), close=close, urgent=result.urgent)


def _reconciliation_review(reviews: list[SafetyReview], key: str) -> tuple[str, bool]:
    """The start-medication safety review of the outside medications the patient continues, as made from the
    last submit, with the override reason or acknowledgement it asks for."""
    if not reviews:
        return "", False
    st.markdown("**Safety review of the reconciled medications**")
    for review in reviews:
        render_review(review)
    if st.session_state.pop(f"{key}__review_changed", False):
        st.warning(
            "The safety review changed with what you entered: nothing was saved. Read the findings, give what they "
            "ask for, and save again.",
            icon=":material/fact_check:",
        )
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


def _findings(reviews: list[SafetyReview]) -> list[tuple[object, ...]]:
    return [review_findings(review) for review in reviews]


def _has_findings(review: SafetyReview) -> bool:
    return bool(review.blocking or review.needs_override or review.needs_acknowledgement or review.interactions)
