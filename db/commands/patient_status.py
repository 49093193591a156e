"""The patient facts the safety review depends on: pregnancy, lactation, organ function, benign ethnic
neutropenia. Unknown is a valid answer (the rules then err on the safe side); every change is audited with the
old and the new value."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import Engine

from db.audit import record_event
from db.commands import EditConflict, InvalidInput
from db.commands.submissions import claim_submission, settle_submission
from db.engine import write_session
from db.models import HEPATIC_IMPAIRMENT, PREGNANCY_STATUSES
from db.permissions import Actor, require_patient

CRCL_LIMITS = (1.0, 250.0)  # mL/min: beyond these a value is a unit slip, not a kidney


@dataclass(frozen=True)
class ClinicalStatus:
    pregnancy_status: str | None = None  # pregnant, not_pregnant, unknown; None = not recorded
    lactating: bool | None = None
    benign_ethnic_neutropenia: bool | None = None
    crcl_ml_min: float | None = None
    hepatic_impairment: str | None = None  # none, mild, moderate, severe


def _validate(status: ClinicalStatus, sex: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if status.pregnancy_status is not None and status.pregnancy_status not in PREGNANCY_STATUSES:
        errors["pregnancy"] = f"must be one of {', '.join(PREGNANCY_STATUSES)}"
    if status.pregnancy_status == "pregnant" and sex == "male":
        errors["pregnancy"] = "the patient's recorded sex is male; correct the sex first"
    crcl = status.crcl_ml_min
    if crcl is not None and (
        isinstance(crcl, bool)
        or not isinstance(crcl, int | float)
        or not math.isfinite(crcl)
        or not CRCL_LIMITS[0] <= crcl <= CRCL_LIMITS[1]
    ):
        errors["creatinine clearance"] = f"must be {CRCL_LIMITS[0]:g} to {CRCL_LIMITS[1]:g} mL/min"
    if status.hepatic_impairment is not None and status.hepatic_impairment not in HEPATIC_IMPAIRMENT:
        errors["hepatic impairment"] = f"must be one of {', '.join(HEPATIC_IMPAIRMENT)}"
    return errors


def update_clinical_status(
    actor: Actor,
    patient_id: int,
    status: ClinicalStatus,
    *,
    expected_patient_version: int,
    submission: str | None = None,
    engine: Engine | None = None,
) -> list[str]:
    """Record the status; returns the changes ("pregnancy: unknown -> pregnant"), each in the audit event."""
    with write_session(engine) as session:
        patient = require_patient(session, actor, patient_id, "update_clinical_status")
        claim = claim_submission(session, actor, submission, "update_clinical_status")
        if patient.version != expected_patient_version:
            raise EditConflict(
                "This patient's record was changed by someone else after you opened the form. Nothing was saved."
            )
        errors = _validate(status, patient.sex)
        if errors:
            raise InvalidInput(errors)
        changes = [
            f"{name.replace('_', ' ')}: {_shown(getattr(patient, name))} -> {_shown(value)}"
            for name, value in vars(status).items()
            if getattr(patient, name) != value
        ]
        if not changes:
            raise InvalidInput({"status": "nothing changed"})
        for name, value in vars(status).items():
            setattr(patient, name, value)
        session.flush()
        record_event(
            session,
            actor,
            "update_clinical_status",
            patient_id=patient.id,
            data_category="patient",
            record_type="patient",
            record_id=patient.id,
            detail="; ".join(changes),
        )
        settle_submission(claim, record_type="patient", record_id=patient.id, outcome="; ".join(changes))
        return changes


def _shown(value: object) -> str:
    return "not recorded" if value is None else str(value).replace("_", " ")


__all__ = ["ClinicalStatus", "update_clinical_status"]
