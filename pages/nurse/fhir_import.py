"""Import patient self-reports (PHQ-9, GAD-7) sent as FHIR R4."""

import streamlit as st

from components.auth import require_role
from components.fhir_import import self_report_upload

actor = require_role("nurse", "admin")
st.title("Import self-reports (FHIR)")
self_report_upload(actor)
