"""Pregnancy, lactation, organ function and benign ethnic neutropenia: the patient facts the safety review uses."""

from __future__ import annotations

import streamlit as st

from components.auth import session_fragment
from components.forms import finish_form, form_version, show_save_error, submission_token
from db.commands import EditConflict, InvalidInput
from db.commands.patient_status import ClinicalStatus, update_clinical_status
from db.models import HEPATIC_IMPAIRMENT, PREGNANCY_STATUSES
from db.permissions import Actor
from db.queries.patients import ChartHeader

NOT_RECORDED = "not recorded"
YES_NO = {NOT_RECORDED: None, "yes": True, "no": False}


def _choice(label: str, options: dict[str, object], current: object, key: str) -> object:
    names = list(options)
    index = next((i for i, name in enumerate(names) if options[name] == current), 0)
    return options[st.selectbox(label, names, index=index, key=key)]


@session_fragment()
def clinical_status_form(actor: Actor, header: ChartHeader, *, close: str | None = None) -> None:
    key = f"status_{header.patient_id}"
    expected_version = form_version(key, header.version)
    token = submission_token(key)
    st.caption("Unknown is an answer: the rules then assume the riskier case (for example a possible pregnancy).")
    columns = st.columns(5)
    pregnancy: object = None
    lactating: object = None
    if header.sex != "male":
        with columns[0]:
            pregnancy = _choice(
                "Pregnancy",
                {NOT_RECORDED: None, **{s.replace("_", " "): s for s in PREGNANCY_STATUSES}},
                header.pregnancy_status,
                f"{key}_pregnancy",
            )
        with columns[1]:
            lactating = _choice("Breastfeeding", YES_NO, header.lactating, f"{key}_lactating")
    crcl = columns[2].number_input(
        "Creatinine clearance (mL/min)", min_value=0.0, max_value=250.0, value=header.crcl_ml_min, key=f"{key}_crcl"
    )
    with columns[3]:
        hepatic = _choice(
            "Hepatic impairment",
            {NOT_RECORDED: None, **{level: level for level in HEPATIC_IMPAIRMENT}},
            header.hepatic_impairment,
            f"{key}_hepatic",
        )
    with columns[4]:
        neutropenia = _choice("Benign ethnic neutropenia", YES_NO, header.benign_ethnic_neutropenia, f"{key}_ben")
    if not st.button("Save clinical status", type="primary", key=f"{key}_save"):
        return
    status = ClinicalStatus(
        pregnancy_status=pregnancy,  # type: ignore[arg-type]
        lactating=lactating,  # type: ignore[arg-type]
        benign_ethnic_neutropenia=neutropenia,  # type: ignore[arg-type]
        crcl_ml_min=float(crcl) if crcl else None,
        hepatic_impairment=hepatic,  # type: ignore[arg-type]
    )
    try:
        changes = update_clinical_status(
            actor, header.patient_id, status, expected_patient_version=expected_version, submission=token
        )
    except (InvalidInput, EditConflict) as error:
        show_save_error(error, key)
        return
    finish_form(key, "Clinical status saved: " + "; ".join(changes) + ".", close=close)
