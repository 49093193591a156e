"""Patient chart: opened from a caseload or queue, or by deep link ``?patient=MRN``."""

import streamlit as st

from components.amend_form import amend_form
from components.auth import require_role
from components.chart_view import render_chart, render_sections
from components.checkin_links import checkin_link_form, render_checkin_links, render_sent_link
from components.emergency import emergency_access_form
from components.fhir_export import fhir_bundle_download
from components.forms import show_notice
from components.intake_form import intake_form
from components.medication_form import change_medication_form, outside_medication_form, start_medication_form
from components.patient_picker import pick_patient
from components.patient_status_form import clinical_status_form
from components.visit_form import visit_form
from db.permissions import PermissionDenied
from db.queries.patients import may_act_for, patient_id_for_mrn

actor = require_role("prescriber", "nurse", "supervisor")
mrn = st.query_params.get("patient")
if not mrn:
    st.title("Patient chart")
    pick_patient(actor)
    st.stop()
try:
    patient_id = patient_id_for_mrn(actor, str(mrn))
except PermissionDenied as denied:
    st.error(str(denied))
    if actor.may_break_glass:
        emergency_access_form(actor, str(mrn))
    st.stop()

header, data = render_chart(actor, patient_id, show_crisis_plan=st.query_params.get("show") == "crisis-plan")
read_only = not may_act_for(actor, patient_id)
if read_only:
    st.info("Emergency access, read-only: the reason given does not allow care actions or exports on this chart.")
elif actor.can("export_chart"):
    fhir_bundle_download(actor, patient_id, header.mrn)
# Only the form the clinician picks is drawn: the visit form alone is some forty widgets, and drawing every
# form on every chart view made opening a chart slow.
forms = {
    "Log a visit": actor.can("log_visit"),
    "Intake evaluation": actor.can("log_visit"),
    "Start a medication": actor.can("prescribe"),
    "Adjust or stop a medication": actor.can("prescribe"),
    "Add an outside medication": actor.can("record_outside_medication"),
    "Clinical status": actor.can("update_clinical_status"),
    "Amend a record": actor.can("amend_record"),
    "Send a check-in link": actor.can("send_checkin_link"),
}
offered = [] if read_only else [name for name, allowed in forms.items() if allowed]
if offered:
    picker = f"chart_form_{patient_id}"
    chosen = st.segmented_control(
        "Record",
        offered,
        default="Intake evaluation" if data.visits.empty and "Intake evaluation" in offered else None,
        key=picker,
    )
    # A saved form closes itself (``close=picker``); its outcome appears here, where the form stood.
    show_notice()
    if chosen == "Log a visit":
        visit_form(actor, header, data, close=picker)
    elif chosen == "Intake evaluation":
        intake_form(actor, header, close=picker)
    elif chosen == "Start a medication":
        start_medication_form(actor, header, close=picker)
    elif chosen == "Adjust or stop a medication":
        change_medication_form(actor, header, data, close=picker)
    elif chosen == "Add an outside medication":
        st.caption("A medication prescribed elsewhere or bought over the counter: every later review screens it.")
        outside_medication_form(actor, header, close=picker)
    elif chosen == "Clinical status":
        clinical_status_form(actor, header, close=picker)
    elif chosen == "Amend a record":
        st.caption("Amend a recorded score, note or lab result: the original stays in the record.")
        amend_form(actor, data, close=picker)
    elif chosen == "Send a check-in link":
        checkin_link_form(actor, header, close=picker)
else:
    show_notice()
render_sent_link(patient_id)
render_checkin_links(actor, header, data, may_act=not read_only)
render_sections(data)
