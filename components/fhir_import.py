"""Uploading patient self-reports (FHIR R4 PHQ-9 / GAD-7) and showing what happened to each resource."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.forms import escape_markdown
from db.commands import InvalidInput
from db.commands.fhir import AMENDED, IMPORTED, STATUSES, import_self_reports
from db.fhir.questionnaires import questionnaire_bundle_bytes
from db.permissions import Actor, PermissionDenied

MAX_UPLOAD_MB = 5  # also server.maxUploadSize in .streamlit/config.toml, which the server enforces
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024


def self_report_upload(actor: Actor) -> None:
    """File upload -> import -> a per-resource result table (cells are plain text)."""
    st.caption(
        "A FHIR R4 Bundle (JSON) or NDJSON of QuestionnaireResponse or Observation resources (PHQ-9, GAD-7). "
        "Patients are matched by MRN (identifier system urn:iop:mrn, or a Patient in the same file). "
        "A report already imported is listed as a duplicate and stored once; a correction (status amended or "
        "corrected, same identifier) is stored as a new version that replaces it in trends, the original kept. "
        "A report sent again with status entered-in-error (same identifier) is withdrawn: kept and marked, no "
        "longer counted in trends or outcomes, and the flags only it raised are closed with a note. "
        "Reports that answer an item twice, conflict over the patient, or are implausibly dated are rejected."
    )
    st.download_button(
        "Download the PHQ-9 and GAD-7 Questionnaires (FHIR)",
        data=questionnaire_bundle_bytes(),
        file_name="iop-questionnaires.json",
        mime="application/fhir+json",
        key="fhir_questionnaires_download",
        help="What a sender's QuestionnaireResponse names (questionnaire) and answers (linkId, LOINC answer codes).",
    )
    upload = st.file_uploader(
        "FHIR file", type=["json", "ndjson"], key="fhir_self_reports", max_upload_size=MAX_UPLOAD_MB
    )
    if upload is None:
        return
    if st.button("Import self-reports", key="fhir_self_reports_import", type="primary"):
        data = upload.getvalue()
        if len(data) > MAX_UPLOAD_BYTES:
            st.error(f"The file is larger than {MAX_UPLOAD_MB} MB; split it and try again.")
            return
        try:
            results = import_self_reports(actor, data)
        except (InvalidInput, PermissionDenied) as error:
            st.error(escape_markdown(str(error)))
            return
        statuses = [r.status for r in results]
        summary = ", ".join(f"{statuses.count(name)} {name}" for name in STATUSES)
        st.success(escape_markdown(summary))
        # Only a stored report raises flags; a withdrawal's "closed urgent ..." is not a new alarm.
        urgent = [r for r in results if r.status in (IMPORTED, AMENDED) and "urgent" in r.flags]
        if urgent:
            st.error(escape_markdown(f"{len(urgent)} report(s) raised an URGENT flag: see the triage queue now."))
        table = pd.DataFrame(
            [
                {
                    "Resource": r.resource,
                    "Result": r.status,
                    "MRN": r.mrn,
                    "Instrument": r.instrument,
                    "Total": "" if r.total is None else str(r.total),
                    "Flags": r.flags,
                    "Detail": r.detail,
                }
                for r in results
            ]
        )
        st.dataframe(table, hide_index=True, width="stretch", key="fhir_self_reports_results")
