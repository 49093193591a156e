"""The chart's "Download FHIR bundle" button: built and audited only when pressed."""

from __future__ import annotations

import json

import streamlit as st

from db.commands.exports import record_export
from db.permissions import Actor
from db.queries.fhir import patient_bundle


def bundle_bytes(actor: Actor, patient_id: int) -> bytes:
    """The patient's FHIR R4 Bundle as JSON, with the disclosure recorded in the audit log.

    Called only when the button is pressed (deferred download data): building a bundle reads the whole chart,
    which would otherwise be paid on every chart view. The read and the audit use the actor's permissions.
    """
    bundle = patient_bundle(actor, patient_id)
    record_export(actor, "fhir_bundle", rows=len(bundle["entry"]), patient_id=patient_id)
    return json.dumps(bundle, indent=2).encode()


def fhir_bundle_download(actor: Actor, patient_id: int, mrn: str) -> None:
    st.download_button(
        "Download FHIR R4 bundle",
        lambda: bundle_bytes(actor, patient_id),
        file_name=f"fhir-{mrn}.json",
        mime="application/fhir+json",
        key=f"fhir_bundle_{patient_id}",
        help="HL7 FHIR R4 Bundle (collection) of this chart; the download is recorded in the audit log.",
        on_click="ignore",
    )
