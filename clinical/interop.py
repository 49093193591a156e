"""Code systems and value mappings for HL7 FHIR R4 exchange: pure reference data, no FHIR library.

The URIs are the canonical ones from the FHIR R4 terminology pages; the program's own identifier systems
(MRN, self-report ids, the primary-diagnosis extension) are defined here once and used by export and import.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from clinical._data import load
from clinical.formulary import FREQUENCY_DOSES_PER_DAY

# External code systems (FHIR R4 canonical URIs).
ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC_SYSTEM = "http://loinc.org"
UCUM_SYSTEM = "http://unitsofmeasure.org"
V3_INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
V3_ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBSERVATION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-category"
ALLERGY_CLINICAL_SYSTEM = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
CONDITION_VERIFICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
PROVENANCE_PARTICIPANT_SYSTEM = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
US_CORE_PROVENANCE_PARTICIPANT_SYSTEM = "http://hl7.org/fhir/us/core/CodeSystem/us-core-provenance-participant-type"
DATA_ABSENT_REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/data-absent-reason"

# US Core 6.1.0 (http://hl7.org/fhir/us/core/STU6.1): the profile each exported resource declares in meta.profile.
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
US_CORE_PROFILES = {
    "Patient": US_CORE + "us-core-patient",
    "Practitioner": US_CORE + "us-core-practitioner",
    "Encounter": US_CORE + "us-core-encounter",
    "Condition": US_CORE + "us-core-condition-problems-health-concerns",
    "AllergyIntolerance": US_CORE + "us-core-allergyintolerance",
    "MedicationRequest": US_CORE + "us-core-medicationrequest",
    "ServiceRequest": US_CORE + "us-core-servicerequest",
    "Provenance": US_CORE + "us-core-provenance",
    "lab": US_CORE + "us-core-observation-lab",
    "screening": US_CORE + "us-core-observation-screening-assessment",
    "weight": US_CORE + "us-core-body-weight",
    "height": US_CORE + "us-core-body-height",
    "bmi": US_CORE + "us-core-bmi",
    "blood pressure": US_CORE + "us-core-blood-pressure",
    "heart rate": US_CORE + "us-core-heart-rate",
}
RACE_EXTENSION = US_CORE + "us-core-race"
ETHNICITY_EXTENSION = US_CORE + "us-core-ethnicity"
BIRTHSEX_EXTENSION = US_CORE + "us-core-birthsex"

# The program's own systems: an MRN is unique only within this program, so it gets a program URI.
MRN_SYSTEM = "urn:iop:mrn"
VISIT_ID_SYSTEM = "urn:iop:visit"
USER_ID_SYSTEM = "urn:iop:user"
SELF_REPORT_ID_SYSTEM = "urn:iop:self-report"
# Read on import only (older exports and other senders). The export no longer writes it: a URN is no
# StructureDefinition URL; the primary diagnosis is exported as the first Condition, which onboarding takes
# as primary when none is marked.
PRIMARY_DIAGNOSIS_EXTENSION = "urn:iop:fhir:StructureDefinition:primary-diagnosis"

# Encounter.class for a telehealth visit: v3-ActCode VR ("virtual").
VIRTUAL_ENCOUNTER_CLASS = {"system": V3_ACT_CODE_SYSTEM, "code": "VR", "display": "virtual"}

# Lab interpretation labels used in the database -> v3-ObservationInterpretation (code, display).
INTERPRETATION_CODES: dict[str, tuple[str, str]] = {
    "normal": ("N", "Normal"),
    "low": ("L", "Low"),
    "high": ("H", "High"),
    "critical low": ("LL", "Critical low"),
    "critical high": ("HH", "Critical high"),
}

# Allergy severities the database records -> AllergyIntolerance.reaction.severity (same words in R4).
ALLERGY_SEVERITIES = ("mild", "moderate", "severe")


@dataclass(frozen=True)
class AnswerCode:
    code: str
    display: str
    score: int


@cache
def answer_codes(instrument: str) -> tuple[AnswerCode, ...]:
    """The LOINC answer list of a questionnaire's items (PHQ-9 and GAD-7: LL358-3, scores 0-3); empty if none."""
    data = load("instruments")
    list_id = data["instruments"].get(instrument, {}).get("answer_list")
    if list_id is None:
        return ()
    return tuple(AnswerCode(a["code"], a["display"], a["score"]) for a in data["answer_lists"][list_id]["answers"])


def answer_score(instrument: str, code: str) -> int | None:
    """The item score a LOINC answer code stands for (LA6569-3 -> 1); None if not in the instrument's list."""
    return next((answer.score for answer in answer_codes(instrument) if answer.code == code), None)


@dataclass(frozen=True)
class Concept:
    system: str
    code: str
    display: str


def _us_core() -> dict:  # type: ignore[type-arg]
    return load("us_core")


def race_concept(code: str | None) -> Concept:
    """The OMB race category (or ASKU/UNK) for a stored race code; UNK when none was recorded."""
    return _demographic("race", code)


def ethnicity_concept(code: str | None) -> Concept:
    return _demographic("ethnicity", code)


def _demographic(kind: str, code: str | None) -> Concept:
    data = _us_core()
    block = data[kind]
    if code in block["codes"]:
        return Concept(block["system"], code, block["codes"][code])
    nulls = data["null_flavors"]
    flavour = code if code in nulls["codes"] else "UNK"
    return Concept(nulls["system"], flavour, nulls["codes"][flavour])


def demographic_codes(kind: str) -> tuple[str, ...]:
    """Every code a patient's race or ethnicity may hold: the OMB categories and the null flavours."""
    data = _us_core()
    return (*data[kind]["codes"], *data["null_flavors"]["codes"])


def birthsex_code(sex: str) -> str:
    block = _us_core()["birthsex"]
    return str(block["by_sex"].get(sex, block["otherwise"]))


def encounter_type(visit_type: str, minutes: int) -> Concept:
    """The CPT code of a visit: psychiatric diagnostic evaluation for an intake, time-based E/M otherwise."""
    block = _us_core()["encounter_types"]
    if visit_type == "intake":
        return Concept(block["system"], block["intake"]["code"], block["intake"]["display"])
    row = next(r for r in block["follow_up_by_minutes"] if minutes >= r["from"])
    return Concept(block["system"], row["code"], row["display"])


# Qualitative lab tests (screens, genotypes, pregnancy) are stored with this unit and 0 = not detected.
QUALITATIVE_UNIT = "{result}"


def is_qualitative_unit(unit: str) -> bool:
    return unit == QUALITATIVE_UNIT


def qualitative_result(detected: bool) -> Concept:
    block = _us_core()["qualitative_results"]
    entry = block["positive" if detected else "negative"]
    return Concept(block["system"], entry["code"], entry["display"])


def fixed_concept(name: str) -> Concept:
    """A single code the export uses as is (lab_order_category, medication_request_category)."""
    entry = _us_core()[name]
    return Concept(entry["system"], entry["code"], entry["display"])


@cache
def _clinical_drugs() -> dict[tuple[str, float, str], Concept]:
    # Only codes checked against RxNorm go out: a receiving EHR reconciles by the SCD, and an unverified code
    # may name another strength of the same drug (public lists disagree), which is worse than the ingredient.
    return {
        (row["drug"], float(row["strength_mg"]), row["form"]): Concept(RXNORM_SYSTEM, row["rxcui"], row["display"])
        for row in _us_core()["clinical_drugs"]["drugs"]
        if str(row["verification"]).startswith("verified")
    }


def clinical_drug(drug: str, dose: float, unit: str, formulation: str | None) -> Concept | None:
    """The RxNorm clinical drug (SCD) of one dose of a drug, when a single unit of that strength exists in the
    table (sertraline 50 mg tablet) and its code is verified; None otherwise (the ingredient code is then the
    only coding)."""
    if unit != "mg" or not formulation:
        return None
    return _clinical_drugs().get((drug, float(dose), formulation))


@dataclass(frozen=True)
class QuestionnaireDefinition:
    """A Questionnaire the program publishes for a self-report instrument (``clinical/data/questionnaires.json``)."""

    instrument: str
    id: str
    url: str  # the canonical URL a QuestionnaireResponse names in ``questionnaire``
    version: str
    name: str
    title: str
    stem: str
    copyright: str
    sources: tuple[str, ...]


@cache
def questionnaire_definitions() -> tuple[QuestionnaireDefinition, ...]:
    """Every published Questionnaire (PHQ-9, GAD-7), with its sources resolved to URLs."""
    data = load("questionnaires")
    base, sources = data["meta"]["canonical_base"].rstrip("/"), data["meta"]["sources"]
    return tuple(
        QuestionnaireDefinition(
            instrument=instrument,
            id=entry["id"],
            url=f"{base}/{entry['id']}",
            version=entry["version"],
            name=entry["name"],
            title=entry["title"],
            stem=entry["stem"],
            copyright=entry["copyright"],
            sources=tuple(sources[key] for key in entry["sources"]),
        )
        for instrument, entry in data["questionnaires"].items()
    )


def ordinal_value_extension() -> str:
    """The R4 extension that gives an answer option its score."""
    return str(load("questionnaires")["meta"]["ordinal_value_extension"])


def questionnaire_instrument(canonical: str) -> str | None:
    """The instrument a ``QuestionnaireResponse.questionnaire`` canonical names, or None if it names none the
    program accepts: a published Questionnaire's URL (optionally ``|version`` of the published version), or a
    LOINC-based one naming the instrument's panel code (``http://loinc.org/q/44249-1``) or its name."""
    url, _, version = canonical.strip().partition("|")
    for definition in questionnaire_definitions():
        if url == definition.url:
            return definition.instrument if version in ("", definition.version) else None
    lowered = canonical.lower()
    for definition in questionnaire_definitions():
        panel = load("instruments")["instruments"][definition.instrument].get("loinc_panel") or "-"
        if panel in lowered or definition.instrument.lower() in lowered:
            return definition.instrument
    return None


def interpretation_code(label: str) -> tuple[str, str]:
    """v3-ObservationInterpretation (code, display) for a stored interpretation label; KeyError if unknown."""
    return INTERPRETATION_CODES[label.strip().lower()]


def frequency_for_times_per_day(times: int) -> str | None:
    """The plain frequency code for a number of doses a day (2 -> 'twice daily'), for senders without our text."""
    return {1: "once daily", 2: "twice daily", 3: "three times daily", 4: "four times daily"}.get(times)


def times_per_day(frequency: str) -> int | None:
    return FREQUENCY_DOSES_PER_DAY.get(frequency)


__all__ = [
    "ALLERGY_CLINICAL_SYSTEM",
    "ALLERGY_SEVERITIES",
    "ALLERGY_VERIFICATION_SYSTEM",
    "BIRTHSEX_EXTENSION",
    "CONDITION_CATEGORY_SYSTEM",
    "CONDITION_CLINICAL_SYSTEM",
    "CONDITION_VERIFICATION_SYSTEM",
    "DATA_ABSENT_REASON_SYSTEM",
    "ETHNICITY_EXTENSION",
    "ICD10CM_SYSTEM",
    "INTERPRETATION_CODES",
    "LOINC_SYSTEM",
    "MRN_SYSTEM",
    "OBSERVATION_CATEGORY_SYSTEM",
    "PRIMARY_DIAGNOSIS_EXTENSION",
    "PROVENANCE_PARTICIPANT_SYSTEM",
    "RACE_EXTENSION",
    "RXNORM_SYSTEM",
    "SELF_REPORT_ID_SYSTEM",
    "UCUM_SYSTEM",
    "USER_ID_SYSTEM",
    "US_CORE_PROFILES",
    "US_CORE_PROVENANCE_PARTICIPANT_SYSTEM",
    "V3_ACT_CODE_SYSTEM",
    "V3_INTERPRETATION_SYSTEM",
    "VIRTUAL_ENCOUNTER_CLASS",
    "VISIT_ID_SYSTEM",
    "AnswerCode",
    "Concept",
    "QuestionnaireDefinition",
    "answer_codes",
    "answer_score",
    "birthsex_code",
    "clinical_drug",
    "demographic_codes",
    "encounter_type",
    "ethnicity_concept",
    "fixed_concept",
    "frequency_for_times_per_day",
    "interpretation_code",
    "is_qualitative_unit",
    "ordinal_value_extension",
    "qualitative_result",
    "questionnaire_definitions",
    "questionnaire_instrument",
    "race_concept",
    "times_per_day",
]
