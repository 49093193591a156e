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

# The program's own systems: an MRN is unique only within this program, so it gets a program URI.
MRN_SYSTEM = "urn:iop:mrn"
SELF_REPORT_ID_SYSTEM = "urn:iop:self-report"
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
    "CONDITION_CATEGORY_SYSTEM",
    "CONDITION_CLINICAL_SYSTEM",
    "ICD10CM_SYSTEM",
    "INTERPRETATION_CODES",
    "LOINC_SYSTEM",
    "MRN_SYSTEM",
    "OBSERVATION_CATEGORY_SYSTEM",
    "PRIMARY_DIAGNOSIS_EXTENSION",
    "RXNORM_SYSTEM",
    "SELF_REPORT_ID_SYSTEM",
    "UCUM_SYSTEM",
    "V3_ACT_CODE_SYSTEM",
    "V3_INTERPRETATION_SYSTEM",
    "VIRTUAL_ENCOUNTER_CLASS",
    "AnswerCode",
    "QuestionnaireDefinition",
    "answer_codes",
    "answer_score",
    "frequency_for_times_per_day",
    "interpretation_code",
    "ordinal_value_extension",
    "questionnaire_definitions",
    "questionnaire_instrument",
    "times_per_day",
]
