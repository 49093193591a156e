"""Database rows -> FHIR R4 resources (plain JSON dicts), one builder per resource type.

Pure functions of already loaded rows: no session, no queries. How a reference is written is passed in
(``Ref``), because a Bundle uses ``urn:uuid:`` full URLs while bulk NDJSON uses ``Type/id``.

Choices (documented in README, "Interoperability"):
- Dose history: every dose-setting row of ``dose_changes`` (start, increase, decrease, change) becomes one
  MedicationRequest; each links the one before by ``priorPrescription``; the newest is ``active`` (or
  ``stopped`` once the course was stopped), the earlier ones ``completed``. ``groupIdentifier`` ties a course.
- Outside medications (not prescribed by the program) are MedicationStatements.
- PHQ-9 / GAD-7: one Observation each, code = the LOINC total-score code, valueInteger = total, a component
  per item (item LOINC code, valueInteger). A self-report has ``performer`` = the Patient and its dedupe id
  as ``identifier``; a score taken at a visit references the Encounter.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import clinical
from clinical import interop
from clinical.diagnoses import diagnosis
from db.models import (
    Allergy,
    Assessment,
    Diagnosis,
    DoseChange,
    LabOrder,
    LabResult,
    Patient,
    Prescription,
    Visit,
)

Resource = dict[str, Any]
Ref = Callable[[str, object], str]
EXPORTED_INSTRUMENTS = ("PHQ-9", "GAD-7")
PRESCRIPTION_GROUP_SYSTEM = "urn:iop:prescription"
DOSE_SETTING_CHANGES = ("start", "increase", "decrease", "change")
_BUNDLE_NAMESPACE = uuid.UUID("6f1c3a52-4d0e-4f55-9a59-0c1b8f7f2d11")  # fixed, so a bundle's urn:uuids are stable


def relative_reference(resource_type: str, resource_id: object) -> str:
    """``Patient/12``: how bulk NDJSON files refer to each other."""
    return f"{resource_type}/{resource_id}"


def bundle_reference(resource_type: str, resource_id: object) -> str:
    """A stable ``urn:uuid:`` for a resource inside a Bundle (its fullUrl and every reference to it)."""
    return f"urn:uuid:{uuid.uuid5(_BUNDLE_NAMESPACE, f'{resource_type}/{resource_id}')}"


def instant(value: datetime) -> str:
    """A naive-UTC database timestamp as a FHIR dateTime with its zone."""
    return value.replace(microsecond=0).isoformat() + "Z"


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def patient_resource(patient: Patient, ref: Ref) -> Resource:
    return {
        "resourceType": "Patient",
        "id": str(patient.id),
        "identifier": [{"use": "usual", "system": interop.MRN_SYSTEM, "value": patient.mrn}],
        "active": patient.program_phase != "discharged",
        "name": [{"use": "official", "family": patient.family_name, "given": [patient.given_name]}],
        "gender": patient.sex if patient.sex in ("female", "male", "other", "unknown") else "unknown",
        "birthDate": patient.date_of_birth.isoformat(),
        "address": [{"state": patient.state_of_residence, "country": "US"}],
    }


def condition_resource(row: Diagnosis, ref: Ref) -> Resource:
    reference = diagnosis(row.icd10_code)
    return {
        "resourceType": "Condition",
        "id": str(row.id),
        "extension": [{"url": interop.PRIMARY_DIAGNOSIS_EXTENSION, "valueBoolean": bool(row.is_primary)}],
        "clinicalStatus": {"coding": [_coding(interop.CONDITION_CLINICAL_SYSTEM, "active", "Active")]},
        "category": [
            {"coding": [_coding(interop.CONDITION_CATEGORY_SYSTEM, "problem-list-item", "Problem List Item")]}
        ],
        "code": {
            "coding": [
                _coding(interop.ICD10CM_SYSTEM, row.icd10_code, reference.display if reference else row.description)
            ],
            "text": row.description,
        },
        "subject": {"reference": ref("Patient", row.patient_id)},
        "recordedDate": instant(row.recorded_at),
    }


def allergy_resource(row: Allergy, ref: Ref) -> Resource:
    code: dict[str, Any] = {"text": row.substance}
    canonical = clinical.resolve_drug(row.substance)
    if canonical is not None:
        rxnorm = clinical.formulary_entry(canonical).rxnorm
        if rxnorm:
            code["coding"] = [_coding(interop.RXNORM_SYSTEM, rxnorm, canonical)]
    resource: Resource = {
        "resourceType": "AllergyIntolerance",
        "id": str(row.id),
        "clinicalStatus": {"coding": [_coding(interop.ALLERGY_CLINICAL_SYSTEM, "active", "Active")]},
        "code": code,
        "patient": {"reference": ref("Patient", row.patient_id)},
        "recordedDate": instant(row.recorded_at),
    }
    if row.reaction or row.severity:
        reaction: dict[str, Any] = {"manifestation": [{"text": row.reaction or "unspecified reaction"}]}
        if row.severity in interop.ALLERGY_SEVERITIES:
            reaction["severity"] = row.severity
        resource["reaction"] = [reaction]
    return resource


def _medication_concept(drug: str, rxnorm: str | None) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": drug}
    if rxnorm:
        concept["coding"] = [_coding(interop.RXNORM_SYSTEM, rxnorm, drug)]
    return concept


def dosage(dose: float, unit: str, frequency: str, route: str | None) -> dict[str, Any]:
    """A Dosage: the dose as a UCUM quantity, the frequency as our text code plus a per-day repeat."""
    timing: dict[str, Any] = {"code": {"text": frequency}}
    times = interop.times_per_day(frequency)
    if times is not None and frequency != "as needed":
        timing["repeat"] = {"frequency": times, "period": 1, "periodUnit": "d"}
    result: dict[str, Any] = {
        "text": f"{dose:g} {unit} {frequency}",
        "timing": timing,
        "doseAndRate": [{"doseQuantity": {"value": dose, "unit": unit, "system": interop.UCUM_SYSTEM, "code": unit}}],
    }
    if frequency == "as needed":
        result["asNeededBoolean"] = True
    if route:
        result["route"] = {"text": route}
    return result


def medication_requests(prescription: Prescription, changes: list[DoseChange], ref: Ref) -> list[Resource]:
    """The course's dose history as a chain of MedicationRequests (see the module docstring)."""
    steps = [change for change in changes if change.change_type in DOSE_SETTING_CHANGES and change.new_dose]
    resources: list[Resource] = []
    points: list[tuple[str, float, str, datetime]] = [
        (f"{prescription.id}-{change.id}", float(change.new_dose or 0), change.new_frequency or prescription.frequency,
         change.changed_at)
        for change in steps
    ] or [  # a course without dose history (older rows): one request from the prescription itself
        (f"{prescription.id}", prescription.dose, prescription.frequency,
         datetime.combine(prescription.start_date, datetime.min.time()))
    ]
    for index, (request_id, dose, frequency, authored) in enumerate(points):
        last = index == len(points) - 1
        status = ("active" if prescription.status == "active" else "stopped") if last else "completed"
        resource: Resource = {
            "resourceType": "MedicationRequest",
            "id": request_id,
            "status": status,
            "intent": "order",
            "groupIdentifier": {"system": PRESCRIPTION_GROUP_SYSTEM, "value": str(prescription.id)},
            "medicationCodeableConcept": _medication_concept(prescription.drug, prescription.rxnorm),
            "subject": {"reference": ref("Patient", prescription.patient_id)},
            "authoredOn": instant(authored),
            "dosageInstruction": [dosage(dose, prescription.unit, frequency, prescription.route)],
        }
        if prescription.indication:
            resource["reasonCode"] = [{"text": prescription.indication}]
        if index > 0:
            resource["priorPrescription"] = {"reference": ref("MedicationRequest", points[index - 1][0])}
        if last and status == "stopped" and prescription.stop_reason:
            resource["statusReason"] = {"text": prescription.stop_reason}
        if last and prescription.quantity and prescription.days_supply:
            resource["dispenseRequest"] = {
                "quantity": {"value": prescription.quantity},
                "expectedSupplyDuration": {
                    "value": prescription.days_supply, "unit": "days", "system": interop.UCUM_SYSTEM, "code": "d"
                },
            }
        resources.append(resource)
    return resources


def medication_statement(prescription: Prescription, ref: Ref) -> Resource:
    """A medication taken but not prescribed by the program (primary care), kept for interaction checks."""
    period: dict[str, str] = {"start": prescription.start_date.isoformat()}
    if prescription.stop_date:
        period["end"] = prescription.stop_date.isoformat()
    resource: Resource = {
        "resourceType": "MedicationStatement",
        "id": str(prescription.id),
        "status": "active" if prescription.status == "active" else "stopped",
        "medicationCodeableConcept": _medication_concept(prescription.drug, prescription.rxnorm),
        "subject": {"reference": ref("Patient", prescription.patient_id)},
        "effectivePeriod": period,
        "dosage": [dosage(prescription.dose, prescription.unit, prescription.frequency, prescription.route)],
    }
    if prescription.indication:
        resource["reasonCode"] = [{"text": prescription.indication}]
    return resource


def self_report_identifier(external_id: str) -> dict[str, str]:
    return {"system": interop.SELF_REPORT_ID_SYSTEM, "value": external_id}


def score_observation(row: Assessment, ref: Ref) -> Resource | None:
    """A PHQ-9 or GAD-7 as a survey Observation; None for other instruments (not exported)."""
    if row.instrument not in EXPORTED_INSTRUMENTS or row.total is None:
        return None
    info = clinical.instrument_info(row.instrument)
    answers = list(row.answers or [])
    resource: Resource = {
        "resourceType": "Observation",
        "id": f"score-{row.id}",
        "status": "amended" if row.supersedes_id else "final",
        "category": [{"coding": [_coding(interop.OBSERVATION_CATEGORY_SYSTEM, "survey", "Survey")]}],
        "code": {
            "coding": [_coding(interop.LOINC_SYSTEM, info.loinc_total or "", f"{row.instrument} total score")],
            "text": f"{row.instrument} total score",
        },
        "subject": {"reference": ref("Patient", row.patient_id)},
        "effectiveDateTime": instant(row.administered_at),
        "valueInteger": int(row.total),
        "component": [
            {
                "code": {"coding": [_coding(interop.LOINC_SYSTEM, code, label)], "text": label},
                "valueInteger": int(answer),
            }
            for code, label, answer in zip(info.item_loinc, info.item_labels, answers, strict=False)
        ],
    }
    if row.severity:
        resource["interpretation"] = [{"text": row.severity}]
    if row.source == "self-report":
        resource["performer"] = [{"reference": ref("Patient", row.patient_id)}]
        if row.external_id:
            resource["identifier"] = [self_report_identifier(row.external_id)]
    elif row.visit_id is not None:
        resource["encounter"] = {"reference": ref("Encounter", row.visit_id)}
    return resource


def lab_observation(row: LabResult, ref: Ref) -> Resource:
    code: dict[str, Any] = {"text": row.test}
    if row.loinc:
        code["coding"] = [_coding(interop.LOINC_SYSTEM, row.loinc, row.test)]
    resource: Resource = {
        "resourceType": "Observation",
        "id": f"lab-{row.id}",
        "status": "final",
        "category": [{"coding": [_coding(interop.OBSERVATION_CATEGORY_SYSTEM, "laboratory", "Laboratory")]}],
        "code": code,
        "subject": {"reference": ref("Patient", row.patient_id)},
        "effectiveDateTime": row.collected_on.isoformat(),
        "issued": instant(row.entered_at),
        "valueQuantity": {"value": row.value, "unit": row.unit},
    }
    if row.ref_low is not None or row.ref_high is not None:
        interval: dict[str, Any] = {}
        if row.ref_low is not None:
            interval["low"] = {"value": row.ref_low, "unit": row.unit}
        if row.ref_high is not None:
            interval["high"] = {"value": row.ref_high, "unit": row.unit}
        resource["referenceRange"] = [interval]
    if row.interpretation in interop.INTERPRETATION_CODES:
        code_value, display = interop.interpretation_code(row.interpretation)
        resource["interpretation"] = [{"coding": [_coding(interop.V3_INTERPRETATION_SYSTEM, code_value, display)]}]
    return resource


def service_request(row: LabOrder, ref: Ref) -> Resource:
    code: dict[str, Any] = {"text": row.test}
    if row.loinc:
        code["coding"] = [_coding(interop.LOINC_SYSTEM, row.loinc, row.test)]
    return {
        "resourceType": "ServiceRequest",
        "id": str(row.id),
        "status": "active",
        "intent": "order",
        "code": code,
        "subject": {"reference": ref("Patient", row.patient_id)},
        "authoredOn": instant(row.ordered_at),
        "occurrenceDateTime": row.due_by.isoformat(),
        "reasonCode": [{"text": row.reason}],
    }


def encounter_resource(row: Visit, ref: Ref) -> Resource:
    return {
        "resourceType": "Encounter",
        "id": str(row.id),
        "status": "finished",
        "class": dict(interop.VIRTUAL_ENCOUNTER_CLASS),
        "type": [{"text": f"{row.visit_type} ({row.modality})"}],
        "subject": {"reference": ref("Patient", row.patient_id)},
        "period": {
            "start": instant(row.visit_at),
            "end": instant(row.visit_at + timedelta(minutes=row.duration_minutes)),
        },
        "length": {"value": row.duration_minutes, "unit": "min", "system": interop.UCUM_SYSTEM, "code": "min"},
    }


def collection_bundle(resources: list[Resource], *, bundle_id: str, timestamp: datetime) -> Resource:
    """A Bundle of type ``collection`` whose entries refer to each other by ``urn:uuid:`` full URLs."""
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "collection",
        "timestamp": instant(timestamp),
        "entry": [
            {"fullUrl": bundle_reference(resource["resourceType"], resource["id"]), "resource": resource}
            for resource in resources
        ],
    }
