"""Database rows -> FHIR R4 resources (plain JSON dicts), one builder per resource type.

Pure functions of already loaded rows: no session, no queries. How a reference is written is passed in
(``Ref``), because a Bundle uses ``urn:uuid:`` full URLs while bulk NDJSON uses ``Type/id``.

Every resource declares its US Core 6.1.0 profile in ``meta.profile`` and is built to meet it
(tests/fhir_profile_validator.py checks a seeded export against the profiles' requirements).

Choices (documented in README, "Interoperability"):
- Dose history: every dose-setting row of ``dose_changes`` (start, increase, decrease, change) becomes one
  MedicationRequest; each links the one before by ``priorPrescription``; the newest is ``active`` (or
  ``stopped`` once the course was stopped), the earlier ones ``completed``. ``groupIdentifier`` ties a course.
- Outside medications (not prescribed by the program) are MedicationRequests with ``reportedBoolean: true``
  and ``intent: plan``: US Core profiles no MedicationStatement, and a reported plan needs no requester.
- Scores: one screening-assessment Observation per administration, code = the LOINC total-score code,
  valueInteger = total, a component per item (kept for importers that read components) and ``hasMember``
  item Observations (one per item, LOINC item code and answer). A self-report has ``performer`` = the
  Patient, its dedupe id as ``identifier`` and a Provenance (author and transmitter: the Patient); a score
  taken at a visit references the Encounter.
- Vital signs come from the visit columns: weight, height, BMI (weight with the newest height known then),
  blood pressure panel, heart rate; one Observation each.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
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
    User,
    Visit,
)

Resource = dict[str, Any]
Ref = Callable[[str, object], str]
EXPORTED_INSTRUMENTS = clinical.INSTRUMENTS
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


def _concept(concept: interop.Concept) -> dict[str, str]:
    return _coding(concept.system, concept.code, concept.display)


def _meta(profile_key: str) -> dict[str, list[str]]:
    return {"profile": [interop.US_CORE_PROFILES[profile_key]]}


def _ucum(value: float, code: str, unit: str | None = None) -> dict[str, Any]:
    """A Quantity with its UCUM system and code (the unit shown is the code unless given)."""
    return {"value": value, "unit": unit or code, "system": interop.UCUM_SYSTEM, "code": code}


def practitioner_resource(user: User, ref: Ref) -> Resource:
    """A clinician named as requester, participant or author (US Core Practitioner: identifier and family name)."""
    parts = user.full_name.replace(",", " ").split()
    titles = {"dr.", "dr"}
    names = [part for part in parts if part.lower() not in titles and part != user.credentials]
    name: dict[str, Any] = {"text": user.full_name, "family": names[-1] if names else user.username}
    if len(names) > 1:
        name["given"] = names[:-1]
    if user.credentials:
        name["suffix"] = [user.credentials]
    return {
        "resourceType": "Practitioner",
        "id": str(user.id),
        "meta": _meta("Practitioner"),
        "identifier": [{"system": interop.USER_ID_SYSTEM, "value": str(user.id)}],
        "active": bool(user.is_active),
        "name": [name],
    }


def patient_resource(patient: Patient, ref: Ref) -> Resource:
    race = interop.race_concept(patient.race)
    ethnicity = interop.ethnicity_concept(patient.ethnicity)
    resource: Resource = {
        "resourceType": "Patient",
        "id": str(patient.id),
        "meta": _meta("Patient"),
        "extension": [
            {
                "url": interop.RACE_EXTENSION,
                "extension": [
                    {"url": "ombCategory", "valueCoding": _concept(race)},
                    {"url": "text", "valueString": race.display},
                ],
            },
            {
                "url": interop.ETHNICITY_EXTENSION,
                "extension": [
                    {"url": "ombCategory", "valueCoding": _concept(ethnicity)},
                    {"url": "text", "valueString": ethnicity.display},
                ],
            },
            {"url": interop.BIRTHSEX_EXTENSION, "valueCode": interop.birthsex_code(patient.sex)},
        ],
        "identifier": [{"use": "usual", "system": interop.MRN_SYSTEM, "value": patient.mrn}],
        "active": patient.program_phase != "discharged",
        "name": [{"use": "official", "family": patient.family_name, "given": [patient.given_name]}],
        "gender": patient.sex if patient.sex in ("female", "male", "other", "unknown") else "unknown",
        "birthDate": patient.date_of_birth.isoformat(),
        "address": [{"use": "home", "state": patient.state_of_residence, "country": "US"}],
    }
    if patient.phone:
        resource["telecom"] = [{"system": "phone", "value": patient.phone, "use": "mobile"}]
    return resource


def condition_resource(row: Diagnosis, ref: Ref) -> Resource:
    """A diagnosis on the patient's problem list (US Core Condition Problems and Health Concerns). The program
    records diagnoses per patient, not per visit, so none is an encounter diagnosis; the primary one is exported
    first (see ``interop.PRIMARY_DIAGNOSIS_EXTENSION``)."""
    reference = diagnosis(row.icd10_code)
    return {
        "resourceType": "Condition",
        "id": str(row.id),
        "meta": _meta("Condition"),
        "clinicalStatus": {"coding": [_coding(interop.CONDITION_CLINICAL_SYSTEM, "active", "Active")]},
        "verificationStatus": {"coding": [_coding(interop.CONDITION_VERIFICATION_SYSTEM, "confirmed", "Confirmed")]},
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
        "meta": _meta("AllergyIntolerance"),
        "clinicalStatus": {"coding": [_coding(interop.ALLERGY_CLINICAL_SYSTEM, "active", "Active")]},
        # Recorded as reported by the patient or the referral, not confirmed by challenge or testing.
        "verificationStatus": {"coding": [_coding(interop.ALLERGY_VERIFICATION_SYSTEM, "unconfirmed", "Unconfirmed")]},
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


def _medication_concept(prescription: Prescription, dose: float) -> dict[str, Any]:
    """The drug as RxNorm: the clinical drug (SCD) of one dose where known, and the ingredient."""
    concept: dict[str, Any] = {"text": prescription.drug}
    codings = []
    clinical_drug = interop.clinical_drug(prescription.drug, dose, prescription.unit, prescription.formulation)
    if clinical_drug is not None:
        codings.append(_concept(clinical_drug))
    if prescription.rxnorm:
        codings.append(_coding(interop.RXNORM_SYSTEM, prescription.rxnorm, prescription.drug))
    if codings:
        concept["coding"] = codings
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
        "doseAndRate": [{"doseQuantity": _ucum(dose, unit)}],
    }
    if frequency == "as needed":
        result["asNeededBoolean"] = True
    if route:
        result["route"] = {"text": route}
    return result


def _medication_category() -> list[dict[str, Any]]:
    return [{"coding": [_concept(interop.fixed_concept("medication_request_category"))]}]


def medication_requests(
    prescription: Prescription,
    changes: list[DoseChange],
    ref: Ref,
    *,
    fallback_requester: int | None = None,
    visit_on: dict[date, int] | None = None,
) -> list[Resource]:
    """The course's dose history as a chain of MedicationRequests (see the module docstring). Each step's
    requester is its author (else the prescriber, else ``fallback_requester``: the patient's prescriber);
    its encounter is the patient's visit that day, if any."""
    steps = [c for c in changes if c.change_type in DOSE_SETTING_CHANGES and c.new_dose]
    resources: list[Resource] = []
    points: list[tuple[str, float, str, datetime, int | None]] = [
        (f"{prescription.id}-{change.id}", float(change.new_dose or 0), change.new_frequency or prescription.frequency,
         change.changed_at, change.author_id)
        for change in steps
    ] or [  # a course without dose history (older rows): one request from the prescription itself
        (f"{prescription.id}", prescription.dose, prescription.frequency,
         datetime.combine(prescription.start_date, datetime.min.time()), None)
    ]
    for index, (request_id, dose, frequency, authored, author_id) in enumerate(points):
        last = index == len(points) - 1
        status = ("active" if prescription.status == "active" else "stopped") if last else "completed"
        requester = author_id or prescription.prescriber_id or fallback_requester
        resource: Resource = {
            "resourceType": "MedicationRequest",
            "id": request_id,
            "meta": _meta("MedicationRequest"),
            "status": status,
            # us-core-21: an order needs its requester; without a known prescriber it is a plan.
            "intent": "order" if requester else "plan",
            "category": _medication_category(),
            "reportedBoolean": False,
            "groupIdentifier": {"system": PRESCRIPTION_GROUP_SYSTEM, "value": str(prescription.id)},
            "medicationCodeableConcept": _medication_concept(prescription, dose),
            "subject": {"reference": ref("Patient", prescription.patient_id)},
            "authoredOn": instant(authored),
            "dosageInstruction": [dosage(dose, prescription.unit, frequency, prescription.route)],
        }
        visit_id = (visit_on or {}).get(authored.date())
        if visit_id is not None:
            resource["encounter"] = {"reference": ref("Encounter", visit_id)}
        if requester:
            resource["requester"] = {"reference": ref("Practitioner", requester)}
        if prescription.indication:
            resource["reasonCode"] = [{"text": prescription.indication}]
        if index > 0:
            resource["priorPrescription"] = {"reference": ref("MedicationRequest", points[index - 1][0])}
        if last and status == "stopped" and prescription.stop_reason:
            resource["statusReason"] = {"text": prescription.stop_reason}
        if last and prescription.quantity and prescription.days_supply:
            resource["dispenseRequest"] = {
                "quantity": {"value": prescription.quantity},
                "expectedSupplyDuration": _ucum(prescription.days_supply, "d", "days"),
            }
        resources.append(resource)
    return resources


def outside_medication_request(prescription: Prescription, ref: Ref) -> Resource:
    """A medication taken but not prescribed by the program (primary care), kept for interaction checks: a
    reported plan (``reportedBoolean: true``, ``intent: plan``); who prescribes it is kept as a note."""
    resource: Resource = {
        "resourceType": "MedicationRequest",
        "id": str(prescription.id),
        "meta": _meta("MedicationRequest"),
        "status": "active" if prescription.status == "active" else "stopped",
        "intent": "plan",
        "category": _medication_category(),
        "reportedBoolean": True,
        "medicationCodeableConcept": _medication_concept(prescription, prescription.dose),
        "subject": {"reference": ref("Patient", prescription.patient_id)},
        "authoredOn": prescription.start_date.isoformat(),
        "dosageInstruction": [
            dosage(prescription.dose, prescription.unit, prescription.frequency, prescription.route)
        ],
    }
    if prescription.indication:
        resource["reasonCode"] = [{"text": prescription.indication}]
    if prescription.source:
        resource["note"] = [{"text": f"Prescribed outside the program: {prescription.source}"}]
    if prescription.stop_date:
        resource["dispenseRequest"] = {
            "validityPeriod": {"start": prescription.start_date.isoformat(), "end": prescription.stop_date.isoformat()}
        }
    return resource


def self_report_identifier(external_id: str) -> dict[str, str]:
    return {"system": interop.SELF_REPORT_ID_SYSTEM, "value": external_id}


def _survey_category() -> list[dict[str, Any]]:
    return [{"coding": [_coding(interop.OBSERVATION_CATEGORY_SYSTEM, "survey", "Survey")]}]


def _code(loinc: str | None, text: str) -> dict[str, Any]:
    code: dict[str, Any] = {"text": text}
    if loinc:
        code["coding"] = [_coding(interop.LOINC_SYSTEM, loinc, text)]
    return code


def _item_value(instrument: str, info: clinical.InstrumentInfo, answer: int) -> dict[str, Any]:
    """An item's answer: its LOINC answer code where the instrument has an answer list, a yes/no for items
    without a score range (C-SSRS), else the number."""
    coded = next((a for a in interop.answer_codes(instrument) if a.score == answer), None)
    if coded is not None:
        return {"valueCodeableConcept": {"coding": [_coding(interop.LOINC_SYSTEM, coded.code, coded.display)]}}
    if info.item_max is None:
        return {"valueBoolean": bool(answer)}
    return {"valueInteger": int(answer)}


def score_observations(row: Assessment, ref: Ref) -> list[Resource]:
    """An administered instrument as US Core screening-assessment Observations: the total (components per item
    and ``hasMember`` the item Observations) followed by one Observation per item."""
    info = clinical.instrument_info(row.instrument)
    answers = [int(answer) for answer in (row.answers or [])]
    total_id = f"score-{row.id}"
    status = "amended" if row.supersedes_id else "final"
    labels = list(info.item_labels) or [f"{info.name} item {n}" for n in range(1, len(answers) + 1)]
    item_codes: list[str | None] = list(info.item_loinc) or [None] * len(answers)
    common: dict[str, Any] = {
        "meta": _meta("screening"),
        "status": status,
        "category": _survey_category(),
        "subject": {"reference": ref("Patient", row.patient_id)},
        "effectiveDateTime": instant(row.administered_at),
    }
    if row.source == "self-report":
        common["performer"] = [{"reference": ref("Patient", row.patient_id)}]
    elif row.visit_id is not None:
        common["encounter"] = {"reference": ref("Encounter", row.visit_id)}
    items: list[Resource] = []
    for number, (code, label, answer) in enumerate(zip(item_codes, labels, answers, strict=False), start=1):
        items.append({
            "resourceType": "Observation",
            "id": f"{total_id}-{number}",
            **common,
            "code": _code(code, label),
            **_item_value(info.name, info, answer),
        })
    total: Resource = {
        "resourceType": "Observation",
        "id": total_id,
        **common,
        "code": _code(info.loinc_total, f"{info.name} total score"),
    }
    if row.total is not None:
        total["valueInteger"] = int(row.total)
    elif row.severity:
        total["valueCodeableConcept"] = {"text": row.severity}
    if row.total is not None and row.severity:
        total["interpretation"] = [{"text": row.severity}]
    if items:
        total["component"] = [
            {"code": _code(code, label), "valueInteger": answer}
            for code, label, answer in zip(item_codes, labels, answers, strict=False)
        ]
        total["hasMember"] = [{"reference": ref("Observation", item["id"])} for item in items]
    if row.source == "self-report" and row.external_id:
        total["identifier"] = [self_report_identifier(row.external_id)]
    return [total, *items]


def score_observation(row: Assessment, ref: Ref) -> Resource:
    """The total-score Observation of an administration (the first of ``score_observations``)."""
    return score_observations(row, ref)[0]


def self_report_provenance(row: Assessment, ref: Ref) -> Resource:
    """Where an imported self-report came from (US Core Provenance): the patient authored and sent it; the
    Observation is its target, recorded when the program imported it."""
    agent_who = {"reference": ref("Patient", row.patient_id)}
    return {
        "resourceType": "Provenance",
        "id": f"self-report-{row.id}",
        "meta": _meta("Provenance"),
        "target": [{"reference": ref("Observation", f"score-{row.id}")}],
        "recorded": instant(row.created_at),
        "agent": [
            {
                "type": {"coding": [_coding(interop.PROVENANCE_PARTICIPANT_SYSTEM, "author", "Author")]},
                "who": agent_who,
            },
            {
                "type": {
                    "coding": [_coding(interop.US_CORE_PROVENANCE_PARTICIPANT_SYSTEM, "transmitter", "Transmitter")]
                },
                "who": agent_who,
            },
        ],
    }


def lab_observation(row: LabResult, ref: Ref) -> Resource:
    """A lab result (US Core Laboratory Result): a UCUM quantity, or Positive/Negative for a qualitative test
    (stored as 0 = not detected)."""
    resource: Resource = {
        "resourceType": "Observation",
        "id": f"lab-{row.id}",
        "meta": _meta("lab"),
        "status": "final",
        "category": [{"coding": [_coding(interop.OBSERVATION_CATEGORY_SYSTEM, "laboratory", "Laboratory")]}],
        "code": _code(row.loinc, row.test),
        "subject": {"reference": ref("Patient", row.patient_id)},
        "effectiveDateTime": row.collected_on.isoformat(),
        "issued": instant(row.entered_at),
    }
    if interop.is_qualitative_unit(row.unit):
        resource["valueCodeableConcept"] = {"coding": [_concept(interop.qualitative_result(bool(row.value)))]}
        return resource
    resource["valueQuantity"] = _ucum(row.value, row.unit)
    if row.ref_low is not None or row.ref_high is not None:
        interval: dict[str, Any] = {}
        if row.ref_low is not None:
            interval["low"] = _ucum(row.ref_low, row.unit)
        if row.ref_high is not None:
            interval["high"] = _ucum(row.ref_high, row.unit)
        resource["referenceRange"] = [interval]
    if row.interpretation in interop.INTERPRETATION_CODES:
        code_value, display = interop.interpretation_code(row.interpretation)
        resource["interpretation"] = [{"coding": [_coding(interop.V3_INTERPRETATION_SYSTEM, code_value, display)]}]
    return resource


def _vital(visit: Visit, kind: str, loinc: str, display: str, ref: Ref, **value: Any) -> Resource:
    return {
        "resourceType": "Observation",
        "id": f"vital-{visit.id}-{kind.replace(' ', '-')}",
        "meta": _meta(kind),
        "status": "final",
        "category": [{"coding": [_coding(interop.OBSERVATION_CATEGORY_SYSTEM, "vital-signs", "Vital Signs")]}],
        "code": {"coding": [_coding(interop.LOINC_SYSTEM, loinc, display)], "text": display},
        "subject": {"reference": ref("Patient", visit.patient_id)},
        "encounter": {"reference": ref("Encounter", visit.id)},
        "effectiveDateTime": instant(visit.visit_at),
        **value,
    }


def vital_sign_observations(visits: list[Visit], ref: Ref) -> list[Resource]:
    """The vitals recorded at a patient's visits (oldest first): weight, height, BMI from the weight and the
    newest height known then, the blood pressure panel and heart rate."""
    out: list[Resource] = []
    height: float | None = None
    for visit in sorted(visits, key=lambda v: (v.visit_at, v.id)):
        if visit.height_cm is not None:
            height = visit.height_cm
            out.append(_vital(visit, "height", "8302-2", "Body height", ref,
                              valueQuantity=_ucum(visit.height_cm, "cm")))
        if visit.weight_kg is not None:
            out.append(_vital(visit, "weight", "29463-7", "Body weight", ref,
                              valueQuantity=_ucum(visit.weight_kg, "kg")))
            if height is not None:
                try:
                    bmi = clinical.bmi(visit.weight_kg, height)
                except ValueError:
                    bmi = None
                if bmi is not None:
                    out.append(_vital(visit, "bmi", "39156-5", "Body mass index (BMI) [Ratio]", ref,
                                      valueQuantity=_ucum(bmi, "kg/m2")))
        if visit.bp_systolic is not None and visit.bp_diastolic is not None:
            out.append(_vital(visit, "blood pressure", "85354-9", "Blood pressure panel", ref,
                              component=[
                                  {"code": _code("8480-6", "Systolic blood pressure"),
                                   "valueQuantity": _ucum(visit.bp_systolic, "mm[Hg]", "mmHg")},
                                  {"code": _code("8462-4", "Diastolic blood pressure"),
                                   "valueQuantity": _ucum(visit.bp_diastolic, "mm[Hg]", "mmHg")},
                              ]))
        if visit.heart_rate is not None:
            out.append(_vital(visit, "heart rate", "8867-4", "Heart rate", ref,
                              valueQuantity=_ucum(visit.heart_rate, "/min", "beats/minute")))
    return out


def service_request(row: LabOrder, ref: Ref) -> Resource:
    resource: Resource = {
        "resourceType": "ServiceRequest",
        "id": str(row.id),
        "meta": _meta("ServiceRequest"),
        "status": "active",
        "intent": "order",
        "category": [{"coding": [_concept(interop.fixed_concept("lab_order_category"))]}],
        "code": _code(row.loinc, row.test),
        "subject": {"reference": ref("Patient", row.patient_id)},
        "authoredOn": instant(row.ordered_at),
        # To be done between the order and its due date.
        "occurrencePeriod": {"start": row.ordered_at.date().isoformat(), "end": row.due_by.isoformat()},
        "reasonCode": [{"text": row.reason}],
    }
    if row.ordered_by_id is not None:
        resource["requester"] = {"reference": ref("Practitioner", row.ordered_by_id)}
    return resource


def encounter_resource(row: Visit, ref: Ref) -> Resource:
    visit_type = interop.encounter_type(row.visit_type, row.duration_minutes)
    period = {
        "start": instant(row.visit_at),
        "end": instant(row.visit_at + timedelta(minutes=row.duration_minutes)),
    }
    resource: Resource = {
        "resourceType": "Encounter",
        "id": str(row.id),
        "meta": _meta("Encounter"),
        "identifier": [{"system": interop.VISIT_ID_SYSTEM, "value": str(row.id)}],
        "status": "finished",
        "class": dict(interop.VIRTUAL_ENCOUNTER_CLASS),
        "type": [{"coding": [_concept(visit_type)], "text": f"{row.visit_type} ({row.modality})"}],
        "subject": {"reference": ref("Patient", row.patient_id)},
        "period": period,
        "length": _ucum(row.duration_minutes, "min"),
    }
    if row.clinician_id is not None:
        resource["participant"] = [{
            "type": [{"coding": [_coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "PPRF",
                                          "primary performer")]}],
            "period": period,
            "individual": {"reference": ref("Practitioner", row.clinician_id)},
        }]
    return resource


def practitioner_references(resources: list[Resource]) -> list[str]:
    """The references the builders above write to clinicians: requesters and encounter participants."""
    found = [r["requester"]["reference"] for r in resources if "requester" in r]
    found += [p["individual"]["reference"] for r in resources for p in r.get("participant", ()) if "individual" in p]
    return found


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
