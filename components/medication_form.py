"""Start, adjust or stop a medication, with the rules engine's findings shown before saving.

Each order is an ``st.form``: typing a dose or ticking a box sends nothing until the form is submitted. What
decides which fields exist sits outside the form (the drug to start, the medication to change, adjust or stop),
and the safety review above each form is that of the order as the form last held it. When a submitted order
brings findings the user had not been shown (a new dose, or an outside medication named for the first time),
nothing is saved: the review is shown with the override, acknowledgement or attestation it asks for, and a
second submit saves. The server runs every check again on the save."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import clinical
from components.auth import session_fragment
from components.forms import escape_markdown, finish_form, form_version, show_save_error, submission_token
from db.commands import EditConflict, InvalidInput, SafetyBlock
from db.commands.medications import (
    PDMP_NOT_ATTESTED,
    MedicationOrder,
    OutsideMedicationInput,
    SafetyReview,
    change_medication,
    interaction_label,
    record_outside_medication,
    review_medication,
    review_outside_medication,
    start_medication,
)
from db.permissions import Actor
from db.queries.caseload import program_today
from db.queries.chart import ChartData
from db.queries.patients import ChartHeader

SEVERITY_ORDER = ("contraindicated", "major", "moderate", "minor", "unknown")


def render_review(review: SafetyReview) -> None:
    """The findings, each once and most serious first, in plain words: what blocks the save, then each
    interaction (the two drugs, the risk, what to do, and whether it needs a reason or an acknowledgement), then
    allergies, controlled-substance requirements, other warnings and the labs that will be ordered."""
    for reason in review.blocking:
        st.error(f"Blocked: {escape_markdown(reason)}", icon=":material/block:")
    for interaction in sorted(
        review.interactions,
        key=lambda found: SEVERITY_ORDER.index(found.severity) if found.severity in SEVERITY_ORDER else 9,
    ):
        text = escape_markdown(f"{interaction_label(interaction)}. What to do: {interaction.advice}")
        if interaction.severity == "contraindicated":
            st.error(f"{text} — requires a documented override reason", icon=":material/dangerous:")
        elif interaction.severity == "major":
            st.warning(f"{text} — requires acknowledgement", icon=":material/warning:")
        elif interaction.severity == "unknown":
            st.info(text, icon=":material/help:")
        else:
            st.info(text, icon=":material/info:")
    for allergy in review.allergy_matches:
        st.error(
            escape_markdown(f"Allergy on file: {allergy}") + " — requires a documented override reason",
            icon=":material/dangerous:",
        )
    interaction_labels = {interaction_label(found) for found in review.interactions}
    for item in review.needs_acknowledgement:
        if item not in interaction_labels:  # e.g. a reproductive-safety finding
            st.warning(f"{escape_markdown(item)} — requires acknowledgement")
    if review.needs_pdmp_attestation:
        st.warning(f"{escape_markdown(PDMP_NOT_ATTESTED)} — tick the PDMP check below")
    for warning in review.warnings:
        st.warning(escape_markdown(warning))
    if review.controlled_requirements:
        st.info("Controlled substance: " + escape_markdown("; ".join(review.controlled_requirements)))
    if review.dose_check is not None and review.dose_check.status == "ok":
        st.success(escape_markdown(review.dose_check.message))
    if review.labs_to_order:
        st.caption(
            "Monitoring labs that will be ordered: "
            + escape_markdown("; ".join(f"{lab.test} by {lab.due_by} ({lab.reason})" for lab in review.labs_to_order))
        )


def _safety_inputs(key: str, review: SafetyReview | None, *, ask_pdmp: bool = True) -> tuple[str, bool, bool]:
    override = ""
    acknowledge = False
    pdmp = False
    if review is None:
        return override, acknowledge, pdmp
    if review.needs_override:
        override = st.text_area("Override reason (documented in the record)", max_chars=2000, key=f"{key}_override")
    if review.needs_acknowledgement:
        acknowledge = st.checkbox(
            "I have reviewed the findings that need acknowledgement and accept the risk", key=f"{key}_acknowledge"
        )
    if review.schedule is not None and ask_pdmp:
        pdmp = st.checkbox(
            "I checked the prescription-monitoring program (PDMP) for the patient's state", key=f"{key}_pdmp"
        )
    return override, acknowledge, pdmp


def _step_up_input(key: str, review: SafetyReview | None) -> str | None:
    """For a controlled substance only: the prescriber's current authenticator code (checked by the command)."""
    if review is None or review.schedule is None:
        return None
    return st.text_input(
        f"Authenticator code (required to sign a Schedule {review.schedule} prescription)",
        max_chars=8,
        autocomplete="one-time-code",
        key=f"{key}_step_up",
    )


def review_findings(review: SafetyReview | None) -> tuple[object, ...]:
    """What in a review the user must have read before saving (not the labs or a dose within limits)."""
    if review is None:
        return ()
    return (
        tuple(review.blocking),
        tuple(sorted(f"{found.severity}: {interaction_label(found)}" for found in review.interactions)),
        tuple(review.allergy_matches),
        tuple(review.needs_override),
        tuple(review.needs_acknowledgement),
        review.needs_pdmp_attestation,
        tuple(review.warnings),
        review.schedule,
    )


def _shown_review(key: str, review: SafetyReview | None) -> tuple[object, ...] | None:
    """Remember the findings drawn in this run; return those drawn in the run before (what the user saw when
    they clicked), None if none were."""
    state_key = f"{key}__reviewed"
    before = st.session_state.get(state_key)
    st.session_state[state_key] = review_findings(review)
    return before  # type: ignore[no-any-return]


def _unseen_findings(review: SafetyReview | None, seen: tuple[object, ...] | None) -> bool:
    """Whether the submitted order brings findings the user was not shown before submitting. A block is not held
    back: the save is refused with its reasons anyway."""
    findings = review_findings(review)
    if review is None or review.blocking or not any(findings):
        return False
    if findings != (seen or ()):
        st.warning(
            "The safety review changed with what you entered: nothing was saved. Read the findings above, give what "
            "they ask for, and save again.",
            icon=":material/fact_check:",
        )
        return True
    return False


def _review(actor: Actor, key: str, patient_id: int, order: MedicationOrder, **kwargs: int) -> SafetyReview | None:
    try:
        review = review_medication(actor, patient_id, order, **kwargs)
    except InvalidInput as error:
        show_save_error(error, key)
        return None
    render_review(review)
    return review


@session_fragment()
def start_medication_form(actor: Actor, header: ChartHeader, *, close: str | None = None) -> None:
    key = f"start_med_{header.patient_id}"
    expected_version = form_version(key, header.version)
    token = submission_token(key)
    entries = {entry.name: entry for entry in clinical.formulary()}
    # Outside the form: the drug decides the starting dose offered and the safety review.
    drug = st.selectbox("Drug", list(entries), index=None, key=f"{key}_drug", placeholder="Choose from the formulary")
    entry = entries.get(drug) if drug else None
    if entry is None:
        _shown_review(key, None)
        st.caption("Choose a drug: its safety review and the order form follow.")
        return
    dose_key = f"{key}_dose_{entry.name}"
    usual_dose = float(entry.usual_start_daily_mg or 0)
    held = MedicationOrder(
        drug=entry.name,
        dose=float(st.session_state.get(dose_key, usual_dose)),
        unit=str(st.session_state.get(f"{key}_unit", clinical.DOSE_UNITS[0])),
        frequency=str(st.session_state.get(f"{key}_frequency", clinical.FREQUENCIES[0])),
        reason="",
    )
    st.caption(
        f"Safety review of {escape_markdown(entry.name)} {held.dose:g} {held.unit} {escape_markdown(held.frequency)}"
        " (the order as the form holds it; a changed dose is reviewed again when you save):"
    )
    review = _review(actor, key, header.patient_id, held)
    seen = _shown_review(key, review)
    with st.form(f"{key}_form", enter_to_submit=False):
        columns = st.columns([1, 1, 2])
        dose = columns[0].number_input("Dose", min_value=0.0, value=usual_dose, step=0.5, key=dose_key)
        unit = columns[1].selectbox("Unit", list(clinical.DOSE_UNITS), key=f"{key}_unit")
        frequency = columns[2].selectbox("Frequency", list(clinical.FREQUENCIES), key=f"{key}_frequency")
        reason = st.text_input("Reason / indication", max_chars=2000, key=f"{key}_reason")
        override, acknowledge, pdmp = _safety_inputs(key, review)
        step_up_code = _step_up_input(key, review)
        submitted = st.form_submit_button("Start medication", type="primary", key=f"{key}_save")
    if not submitted or _unseen_findings(review, seen):
        return
    order = MedicationOrder(
        drug=entry.name,
        dose=dose,
        unit=unit,
        frequency=frequency,
        reason=reason,
        override_reason=override,
        acknowledge_major=acknowledge,
        pdmp_checked=pdmp,
    )
    try:
        prescription = start_medication(
            actor,
            header.patient_id,
            order,
            expected_patient_version=expected_version,
            step_up_code=step_up_code,
            submission=token,
        )
    except (InvalidInput, SafetyBlock, EditConflict) as error:
        show_save_error(error, key)
        return
    finish_form(
        key,
        f"Started {prescription.drug} {prescription.dose:g} {prescription.unit} {prescription.frequency}.",
        close=close,
    )


@session_fragment()
def change_medication_form(actor: Actor, header: ChartHeader, data: ChartData, *, close: str | None = None) -> None:
    active = (
        data.prescriptions[data.prescriptions["status"] == "active"] if not data.prescriptions.empty else pd.DataFrame()
    )
    if active.empty:
        st.info("No active medications to adjust or stop.")
        return
    labels = {int(row.id): f"{row.drug} {row.dose:g} {row.unit} {row.frequency}" for row in active.itertuples()}
    # Outside the form: which medication, and whether to adjust or stop it, decide the fields and the review.
    prescription_id = st.selectbox(
        "Medication", list(labels), format_func=labels.__getitem__, key=f"change_med_{header.patient_id}_which"
    )
    current = active[active["id"] == prescription_id].iloc[0]
    key = f"change_med_{prescription_id}"
    expected_version = form_version(key, int(current["version"]))
    token = submission_token(key)
    action = st.radio("Action", ["Adjust dose", "Stop"], horizontal=True, key=f"{key}_action")
    current_dose = float(current["dose"])
    current_unit = str(current["unit"])
    current_frequency = str(current["frequency"])
    review = None
    if action == "Adjust dose":
        held = MedicationOrder(
            drug=str(current["drug"]),
            dose=float(st.session_state.get(f"{key}_dose", current_dose)),
            unit=str(st.session_state.get(f"{key}_unit", current_unit)),
            frequency=str(st.session_state.get(f"{key}_frequency", current_frequency)),
            reason="",
        )
        st.caption(
            f"Safety review of {escape_markdown(held.drug)} {held.dose:g} {held.unit} "
            f"{escape_markdown(held.frequency)} (the order as the form holds it; a changed dose is reviewed again "
            "when you save):"
        )
        review = _review(actor, key, header.patient_id, held, replacing_prescription_id=int(prescription_id))
    seen = _shown_review(key, review)
    dose, unit, frequency = current_dose, current_unit, current_frequency
    with st.form(f"{key}_form", enter_to_submit=False):
        reason = st.text_input("Reason", max_chars=2000, key=f"{key}_reason")
        if action == "Adjust dose":
            columns = st.columns(3)
            dose = columns[0].number_input("New dose", min_value=0.0, value=current_dose, step=0.5, key=f"{key}_dose")
            unit = columns[1].selectbox(
                "Unit",
                list(clinical.DOSE_UNITS),
                index=list(clinical.DOSE_UNITS).index(current_unit) if current_unit in clinical.DOSE_UNITS else 0,
                key=f"{key}_unit",
            )
            frequency = columns[2].selectbox(
                "Frequency",
                list(clinical.FREQUENCIES),
                index=list(clinical.FREQUENCIES).index(current_frequency)
                if current_frequency in clinical.FREQUENCIES
                else 0,
                key=f"{key}_frequency",
            )
        override, acknowledge, pdmp = _safety_inputs(key, review)
        step_up_code = _step_up_input(key, review)
        submitted = st.form_submit_button(
            "Save change" if action == "Adjust dose" else "Stop medication", type="primary", key=f"{key}_save"
        )
    if not submitted or _unseen_findings(review, seen):
        return
    try:
        change_medication(
            actor,
            prescription_id,
            dose=dose,
            unit=unit,
            frequency=frequency,
            reason=reason,
            stop=action == "Stop",
            expected_version=expected_version,
            override_reason=override,
            acknowledge_major=acknowledge,
            pdmp_checked=pdmp,
            step_up_code=step_up_code,
            submission=token,
        )
    except (InvalidInput, SafetyBlock, EditConflict) as error:
        show_save_error(error, key)
        return
    st.session_state.pop(f"change_med_{header.patient_id}_which", None)
    finish_form(
        key,
        f"Stopped {current['drug']}."
        if action == "Stop"
        else f"Adjusted {current['drug']}: now {dose:g} {unit} {frequency}.",
        close=close,
    )


@session_fragment()
def outside_medication_form(actor: Actor, header: ChartHeader, *, close: str | None = None) -> None:
    """Record a medication prescribed elsewhere or bought over the counter, so every later review screens it."""
    key = f"outside_med_{header.patient_id}"
    expected_version = form_version(key, header.version)
    token = submission_token(key)
    held_name = str(st.session_state.get(f"{key}_name") or "")
    held_dose = st.session_state.get(f"{key}_dose")
    review = None
    if held_name.strip() and held_dose is not None:
        held = OutsideMedicationInput(
            name=held_name,
            dose=float(held_dose),
            unit=str(st.session_state.get(f"{key}_unit", clinical.DOSE_UNITS[0])),
            frequency=str(st.session_state.get(f"{key}_frequency", clinical.FREQUENCIES[0])),
            source="-",
            start_date=None,
            indication="",
        )
        try:
            review = review_outside_medication(actor, header.patient_id, held)
        except InvalidInput as error:
            show_save_error(error, key)
        if review is not None:
            render_review(review)
    seen = _shown_review(key, review)
    with st.form(f"{key}_form", enter_to_submit=False):
        columns = st.columns([2, 1, 1, 2])
        name = columns[0].text_input(
            "Medication", max_chars=80, key=f"{key}_name", placeholder="e.g. tramadol, Zoloft, ibuprofen"
        )
        dose = columns[1].number_input("Dose", min_value=0.0, value=None, step=0.5, key=f"{key}_dose")
        unit = columns[2].selectbox("Unit", list(clinical.DOSE_UNITS), key=f"{key}_unit")
        frequency = columns[3].selectbox("Frequency", list(clinical.FREQUENCIES), key=f"{key}_frequency")
        details = st.columns([2, 1, 2])
        source = details[0].text_input(
            "Prescribed by",
            max_chars=120,
            key=f"{key}_source",
            placeholder="primary care (Dr …), hospital, over the counter",
        )
        started = details[1].date_input("Since", value=None, max_value=program_today(), key=f"{key}_since")
        indication = details[2].text_input("For", max_chars=120, key=f"{key}_indication")
        override, acknowledge, _ = _safety_inputs(key, review, ask_pdmp=False)
        submitted = st.form_submit_button("Record outside medication", type="primary", key=f"{key}_save")
    if not submitted:
        return
    if not name.strip() or dose is None:
        st.error("Nothing was saved. Enter the medication and its dose.")
        return
    if _unseen_findings(review, seen):
        return
    medication = OutsideMedicationInput(
        name=name,
        dose=float(dose),
        unit=unit,
        frequency=frequency,
        source=source,
        start_date=started,
        indication=indication,
        override_reason=override,
        acknowledge_major=acknowledge,
    )
    try:
        prescription = record_outside_medication(
            actor,
            header.patient_id,
            medication,
            expected_patient_version=expected_version,
            submission=token,
        )
    except (InvalidInput, SafetyBlock, EditConflict) as error:
        show_save_error(error, key)
        return
    finish_form(
        key,
        f"Recorded {prescription.drug} {prescription.dose:g} {prescription.unit} {prescription.frequency} "
        f"({prescription.source}): every later safety review screens it.",
        close=close,
    )
