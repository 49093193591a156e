"""The chart's "Download FHIR bundle" button: the disclosure is audited when the button is pressed."""

from __future__ import annotations

import json

import streamlit as st

from db.commands.exports import record_export
from db.permissions import Actor
from db.queries.fhir import patient_bundle


def fhir_bundle_download(actor: Actor, patient_id: int, mrn: str) -> None:
    """A download button for the patient's FHIR R4 Bundle (built for this request, never cached)."""
    bundle = patient_bundle(actor, patient_id)
    st.download_button(
        "Download FHIR R4 bundle",
        json.dumps(bundle, indent=2).encode(),
        file_name=f"fhir-{mrn}.json",
        mime="application/fhir+json",
        key=f"fhir_bundle_{patient_id}",
        help="HL7 FHIR R4 Bundle (collection) of this chart; the download is recorded in the audit log.",
        on_click=record_export,
        args=(actor, "fhir_bundle"),
        kwargs={"rows": len(bundle["entry"]), "patient_id": patient_id},
    )
