"""Reading a whole bulk export (one NDJSON file per resource type) back into plain values, patient by patient.
No database access here: ``db.commands.bulk_import`` checks and stores what this returns.

Resources are recognised by their codes and systems (LOINC, RxNorm, UCUM, ICD-10-CM), never by
``meta.profile``, so an export with or without US Core profiles reads the same. Outside medications may come as
MedicationStatement or as MedicationRequest with ``reported`` (US Core's way). What is read:

- Patient, Condition, AllergyIntolerance: as onboarding reads them (``parse_onboarding``);
- Encounter: a visit (start, length, type and modality from its type text or class);
- MedicationRequest chains (``groupIdentifier`` ties a course; each request is a dose step) and outside
  medications: every course with its dose history, active or stopped;
- Observation: a scored instrument (code = the instrument's LOINC total or panel code, items as components), or
  a vital sign (weight, height, waist, heart rate, blood pressure panel) recorded at an encounter (named, or
  the visit that started at the time it was taken).

Everything else (lab results, service requests, provenance, BMI, which is derived) is counted as not imported.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import clinical
from clinical import interop
from clinical._data import load
from db.fhir.parsing import (
    MAX_INPUT_BYTES,
    FhirInputError,
    InputResource,
    MedicationInput,
    OnboardingInput,
    _medication,
    _text_of,
    external_id_of,
    parse_datetime,
    parse_onboarding,
    read_resources,
    validation_problem,
)

MANIFEST_NAME = "manifest.json"
MAX_FILE_BYTES = 2 * 1024 * 1024 * 1024  # a single NDJSON file; each line is checked as a file of its own
MODALITIES = ("video", "phone", "in-person")
VISIT_TYPES = ("intake", "follow-up")
# Vital signs a visit records, by LOINC code: visit column and the factor from each accepted UCUM unit.
VITAL_COLUMNS: dict[str, tuple[str, dict[str, float]]] = {
    "29463-7": ("weight_kg", {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237}),
    "8302-2": ("height_cm", {"cm": 1.0, "m": 100.0, "[in_i]": 2.54}),
    "8280-0": ("waist_cm", {"cm": 1.0, "m": 100.0, "[in_i]": 2.54}),
    "8867-4": ("heart_rate", {"/min": 1.0}),
}
BLOOD_PRESSURE_PANEL = "85354-9"
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"
DERIVED_VITALS = ("39156-5",)  # BMI: computed from weight and the newest height, never stored


@dataclass(frozen=True)
class VisitInput:
    reference: str  # "Encounter/12": how the export's Observations name it
    visit_at: datetime
    duration_minutes: int
    visit_type: str
    modality: str
    vitals: dict[str, float] = field(default_factory=dict)  # visit column -> value


@dataclass(frozen=True)
class ScoreInput:
    instrument: str
    answers: Any  # item values in order (C-SSRS: a dict q1..q6)
    administered_at: datetime
    stated_total: int | None
    encounter: str | None  # set: taken at that visit; None: a self-report
    external_id: str | None
    source: str  # "Observation/score-3"


@dataclass(frozen=True)
class DoseStep:
    at: datetime
    medication: MedicationInput


@dataclass(frozen=True)
class CourseInput:
    """One medication course: program-prescribed (a MedicationRequest chain) or outside (taken, not ours)."""

    prescribed_here: bool
    steps: list[DoseStep]  # oldest first; one step for an outside medication
    stopped: bool
    stop_date: date | None
    stop_reason: str | None
    quantity: int | None
    days_supply: int | None
    source: str

    @property
    def current(self) -> MedicationInput:
        return self.steps[-1].medication


@dataclass
class ChartInput:
    """One patient of an export, read; ``errors`` by resource label (a patient with any is not imported)."""

    patient_reference: str
    onboarding: OnboardingInput
    visits: list[VisitInput] = field(default_factory=list)
    scores: list[ScoreInput] = field(default_factory=list)
    courses: list[CourseInput] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    not_imported: int = 0
    active: bool = True


def export_files(directory: Path) -> list[Path]:
    """The NDJSON files of an export: those its manifest lists (by file name, in this directory), else every
    ``*.ndjson`` here."""
    manifest = directory / MANIFEST_NAME
    if manifest.is_file():
        try:
            listed = json.loads(manifest.read_text(encoding="utf-8")).get("output") or []
        except (json.JSONDecodeError, AttributeError) as error:
            raise FhirInputError(f"{MANIFEST_NAME} is not a bulk data manifest ({error})") from error
        names = [str(item.get("url", "")).rsplit("/", 1)[-1] for item in listed if isinstance(item, dict)]
        missing = [name for name in names if not (directory / name).is_file()]
        if missing:
            raise FhirInputError(f"files the manifest lists are missing here: {', '.join(missing)}")
        return [directory / name for name in dict.fromkeys(names)]
    files = sorted(directory.glob("*.ndjson"))
    if not files:
        raise FhirInputError(f"{directory} holds no manifest and no .ndjson files")
    return files


def read_export(directory: Path) -> tuple[list[ChartInput], list[InputResource]]:
    """Every patient of the export with their resources read, and the lines that could not be read at all."""
    by_patient: dict[str, list[InputResource]] = defaultdict(list)
    patients: dict[str, InputResource] = {}
    unreadable: list[InputResource] = []
    for path in export_files(directory):
        if path.stat().st_size > MAX_FILE_BYTES:
            raise FhirInputError(f"{path.name} is larger than {MAX_FILE_BYTES // 1024**3} GB")
        with path.open("r", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                position = f"{path.name} line {number}"
                if len(line) > MAX_INPUT_BYTES:
                    unreadable.append(InputResource(position, None, error="line larger than 20 MB"))
                    continue
                try:
                    (item,) = read_resources(line)
                except FhirInputError as error:
                    unreadable.append(InputResource(position, None, error=str(error)))
                    continue
                if item.resource is None:
                    unreadable.append(InputResource(position, None, error=item.error))
                    continue
                resource = item.resource
                found = InputResource(position, resource)
                if resource["resourceType"] == "Patient" and resource.get("id"):
                    patients[f"Patient/{resource['id']}"] = found
                    continue
                owner = _owner(resource)
                if owner is None:
                    # Published definitions, the clinicians a chart names and the provenance of self-reports are
                    # not patient data to import: the import records its own provenance and actor.
                    if resource["resourceType"] not in NOT_PATIENT_DATA:
                        unreadable.append(InputResource(position, None, error="names no Patient (subject/patient)"))
                    continue
                by_patient[owner].append(found)
    for owner in by_patient.keys() - patients.keys():
        unreadable.append(
            InputResource(owner, None, error=f"{len(by_patient[owner])} resources name {owner}, not in the export")
        )
    return [_read_chart(reference, patient, by_patient[reference]) for reference, patient in patients.items()], (
        unreadable
    )


NOT_PATIENT_DATA = ("Questionnaire", "Practitioner", "Provenance")


def _owner(resource: dict[str, Any]) -> str | None:
    reference = (resource.get("subject") or resource.get("patient") or {}).get("reference")
    return str(reference) if isinstance(reference, str) and reference.startswith("Patient/") else None


def _read_chart(reference: str, patient: InputResource, resources: list[InputResource]) -> ChartInput:
    demographic = [
        item
        for item in [patient, *resources]
        if item.resource and item.resource["resourceType"] in ("Patient", "Condition", "AllergyIntolerance")
    ]
    onboarding, errors = parse_onboarding(demographic)
    chart = ChartInput(
        reference, onboarding, errors=dict(errors), active=patient.resource.get("active", True) is not False
    )  # type: ignore[union-attr]
    encounters = [item for item in resources if item.resource and item.resource["resourceType"] == "Encounter"]
    visits = {}
    for item in encounters:
        visit = _visit(item)
        if isinstance(visit, str):
            chart.errors[item.label] = visit
        else:
            visits[visit.reference] = visit
    requests: list[InputResource] = []
    for item in resources:
        resource = item.resource
        assert resource is not None
        kind = resource["resourceType"]
        if kind in ("Condition", "AllergyIntolerance", "Encounter"):
            continue
        if kind in ("MedicationRequest", "MedicationStatement"):
            requests.append(item)
        elif kind == "Observation":
            _observation(item, chart, visits)
        else:
            chart.not_imported += 1
    chart.visits = sorted(visits.values(), key=lambda visit: visit.visit_at)
    _courses(requests, chart)
    return chart


def _visit(item: InputResource) -> VisitInput | str:
    resource = item.resource
    assert resource is not None
    problem = validation_problem(resource)
    if problem:
        return problem
    period = resource.get("period") or {}
    start, end = parse_datetime(period.get("start")), parse_datetime(period.get("end"))
    if start is None:
        return "needs period.start (when the visit took place)"
    length = resource.get("length") or {}
    minutes = length.get("value") if length.get("code", "min") == "min" else None
    if not isinstance(minutes, int | float) and end is not None:
        minutes = (end - start).total_seconds() / 60
    words = " ".join(
        [_text_of(concept) for concept in resource.get("type") or []]
        + [
            str(coding.get("display", ""))
            for concept in resource.get("type") or []
            for coding in concept.get("coding") or []
        ]
    ).lower()
    modality = next((name for name in MODALITIES if name in words), None)
    if modality is None:
        visit_class = (resource.get("class") or {}).get("code")
        modality = "in-person" if visit_class == "AMB" else "video"
    return VisitInput(
        reference=f"Encounter/{resource.get('id')}",
        visit_at=start,
        duration_minutes=max(1, round(minutes)) if isinstance(minutes, int | float) else 30,
        visit_type="intake" if "intake" in words else "follow-up",
        modality=modality,
    )


def _loinc_codes(concept: Any) -> list[str]:
    if not isinstance(concept, dict):
        return []
    return [
        str(c.get("code"))
        for c in concept.get("coding") or []
        if isinstance(c, dict) and c.get("system") == interop.LOINC_SYSTEM and c.get("code")
    ]


def _instrument_codes() -> dict[str, str]:
    """LOINC total or panel code -> instrument, for every instrument the reference data codes."""
    codes: dict[str, str] = {}
    for name, entry in load("instruments")["instruments"].items():
        for key in ("loinc_total", "loinc_panel"):
            if entry.get(key):
                codes[str(entry[key])] = name
    return codes


def _observation(item: InputResource, chart: ChartInput, visits: dict[str, VisitInput]) -> None:
    resource = item.resource
    assert resource is not None
    codes = _loinc_codes(resource.get("code"))
    instruments = _instrument_codes()
    instrument = next((instruments[code] for code in codes if code in instruments), None)
    vital = next((code for code in codes if code in VITAL_COLUMNS or code == BLOOD_PRESSURE_PANEL), None)
    if instrument is None and vital is None:
        chart.not_imported += 1  # lab results, BMI and anything else: not part of this import
        return
    if resource.get("status") == "entered-in-error":
        chart.not_imported += 1
        return
    problem = validation_problem(resource)
    if problem:
        chart.errors[item.label] = problem
        return
    when = parse_datetime(resource.get("effectiveDateTime"))
    if when is None:
        chart.errors[item.label] = "needs effectiveDateTime"
        return
    encounter = (resource.get("encounter") or {}).get("reference")
    if instrument is not None:
        answers = _answers(instrument, resource)
        if isinstance(answers, str):
            chart.errors[item.label] = answers
            return
        if encounter is not None and encounter not in visits:
            chart.errors[item.label] = f"names {encounter}, which is not in the export"
            return
        stated = resource.get("valueInteger")
        chart.scores.append(
            ScoreInput(
                instrument=instrument,
                answers=answers,
                administered_at=when,
                stated_total=stated if isinstance(stated, int) and not isinstance(stated, bool) else None,
                encounter=encounter,
                external_id=None if encounter else external_id_of(resource),
                source=item.label,
            )
        )
        return
    visit = visits.get(str(encounter)) if encounter else None
    if visit is None and not encounter:
        # No encounter named: the visit that started at the very time it was taken, if there is exactly one.
        at_that_time = [v for v in visits.values() if v.visit_at == when]
        visit = at_that_time[0] if len(at_that_time) == 1 else None
    if visit is None:
        chart.errors[item.label] = (
            "a vital sign needs the encounter it was taken at, or a visit at the same time (vitals are recorded "
            "at visits)"
        )
        return
    values = _vital_values(str(vital), resource)
    if isinstance(values, str):
        chart.errors[item.label] = values
        return
    visit.vitals.update(values)


def _quantity(holder: dict[str, Any], factors: dict[str, float], what: str) -> float | str:
    quantity = holder.get("valueQuantity") or {}
    unit = quantity.get("code") or quantity.get("unit")
    if not isinstance(quantity.get("value"), int | float) or unit not in factors:
        return f"{what} needs valueQuantity in {', '.join(factors)} (UCUM)"
    return float(quantity["value"]) * factors[unit]


def _vital_values(code: str, resource: dict[str, Any]) -> dict[str, float] | str:
    if code == BLOOD_PRESSURE_PANEL:
        found: dict[str, float] = {}
        for component in resource.get("component") or []:
            for item_code, column in ((SYSTOLIC, "bp_systolic"), (DIASTOLIC, "bp_diastolic")):
                if item_code in _loinc_codes(component.get("code")):
                    value = _quantity(component, {"mm[Hg]": 1.0}, "blood pressure")
                    if isinstance(value, str):
                        return value
                    found[column] = round(value)
        if set(found) != {"bp_systolic", "bp_diastolic"}:
            return "a blood pressure panel needs systolic (8480-6) and diastolic (8462-4) components"
        return found
    column, factors = VITAL_COLUMNS[code]
    value = _quantity(resource, factors, column.split("_")[0])
    if isinstance(value, str):
        return value
    return {column: round(value) if column == "heart_rate" else round(value, 2)}


def _component_value(instrument: str, component: dict[str, Any]) -> Any:
    for key in ("valueInteger", "valueBoolean"):
        if key in component:
            return component[key]
    codings = [component["valueCoding"]] if isinstance(component.get("valueCoding"), dict) else []
    if isinstance(component.get("valueCodeableConcept"), dict):
        codings += component["valueCodeableConcept"].get("coding") or []
    for coding in codings:
        score = interop.answer_score(instrument, str(coding.get("code", "")))
        if score is not None:
            return score
    return None


def _answers(instrument: str, resource: dict[str, Any]) -> Any:
    """Item answers from the components: by item LOINC code where the instrument has them, else in order."""
    info = clinical.instrument_info(instrument)
    components = [c for c in resource.get("component") or [] if isinstance(c, dict)]
    item_codes = list(getattr(info, "item_loinc", None) or [])
    if item_codes:
        by_code = {}
        for component in components:
            for code in _loinc_codes(component.get("code")):
                if code in item_codes:
                    by_code[code] = _component_value(instrument, component)
        answers = [by_code.get(code) for code in item_codes]
    else:
        totals = {info.loinc_total, info.loinc_panel} - {None}
        answers = [_component_value(instrument, c) for c in components if not set(_loinc_codes(c.get("code"))) & totals]
    if instrument == "C-SSRS screener":
        return {f"q{number}": bool(value) for number, value in enumerate(answers, start=1) if value is not None}
    if not answers or any(answer is None for answer in answers):
        return f"{instrument}: every item needs an answer (components)"
    return answers


def _is_outside(resource: dict[str, Any]) -> bool:
    """Taken but not prescribed by the program: a MedicationStatement, or a MedicationRequest ``reported`` by
    the patient or another clinician (US Core's way of listing medications prescribed elsewhere)."""
    if resource["resourceType"] == "MedicationStatement":
        return True
    return resource.get("reportedBoolean") is True or bool(resource.get("reportedReference"))


def _courses(items: list[InputResource], chart: ChartInput) -> None:
    groups: dict[str, list[tuple[datetime, InputResource, MedicationInput]]] = defaultdict(list)
    outside: list[tuple[InputResource, MedicationInput]] = []
    for item in items:
        resource = item.resource
        assert resource is not None
        if resource.get("status") in ("entered-in-error", "draft", "cancelled"):
            chart.not_imported += 1
            continue
        problem = validation_problem(resource)
        if problem:
            chart.errors[item.label] = problem
            continue
        medication = _medication(resource, item.label)
        if isinstance(medication, str):
            chart.errors[item.label] = medication
            continue
        if _is_outside(resource):
            outside.append((item, medication))
            continue
        authored = parse_datetime(resource.get("authoredOn"))
        if authored is None:
            chart.errors[item.label] = "a prescribed medication needs authoredOn (when the dose was set)"
            continue
        group = (resource.get("groupIdentifier") or {}).get("value") or item.label
        groups[str(group)].append((authored, item, medication))
    for steps in groups.values():
        steps.sort(key=lambda step: step[0])
        last = steps[-1][1].resource
        assert last is not None
        supply = last.get("dispenseRequest") or {}
        quantity = (supply.get("quantity") or {}).get("value")
        days = (supply.get("expectedSupplyDuration") or {}).get("value")
        stopped = last.get("status") in ("stopped", "completed")
        validity_end = parse_datetime((supply.get("validityPeriod") or {}).get("end"))
        chart.courses.append(
            CourseInput(
                prescribed_here=True,
                steps=[DoseStep(at, medication) for at, _, medication in steps],
                stopped=stopped,
                stop_date=(validity_end or steps[-1][0]).date() if stopped else None,
                stop_reason=_text_of(last.get("statusReason")) or None,
                quantity=int(quantity) if isinstance(quantity, int | float) else None,
                days_supply=int(days) if isinstance(days, int | float) else None,
                source=steps[0][1].label,
            )
        )
    for item, medication in outside:
        resource = item.resource
        assert resource is not None
        period = resource.get("effectivePeriod") or {}
        start = parse_datetime(period.get("start") or resource.get("authoredOn") or resource.get("effectiveDateTime"))
        if start is None:
            chart.errors[item.label] = "an outside medication needs a start (effectivePeriod.start or authoredOn)"
            continue
        end = parse_datetime(period.get("end"))
        stopped = resource.get("status") in ("stopped", "completed")
        chart.courses.append(
            CourseInput(
                prescribed_here=False,
                steps=[DoseStep(start, medication)],
                stopped=stopped,
                stop_date=(end or start).date() if stopped else None,
                stop_reason=_text_of(resource.get("statusReason")) or None,
                quantity=None,
                days_supply=None,
                source=item.label,
            )
        )
