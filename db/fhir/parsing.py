"""Reading FHIR R4 input: splitting a file into resources, and turning a self-report or an onboarding Bundle
into plain values the commands can check and store. No database access here.

Every problem is reported as a sentence a nurse can act on; one bad resource never hides the others.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

import clinical
from clinical import interop

MAX_EXTERNAL_ID = 200
# Checked before a file is parsed: json.loads recurses once per nesting level, so a file of 100,000 nested
# brackets would end in RecursionError. Our exported bundles nest 9 levels (Bundle > entry > resource > ...);
# 64 leaves room for QuestionnaireResponse items nested in items. 20 MB is above any single-patient bundle
# and a feed of thousands of self-reports (a 20 MB scan takes about 0.7 s); the upload page allows 5 MB.
MAX_JSON_DEPTH = 64
MAX_INPUT_BYTES = 20 * 1024 * 1024
# FHIR integers are 32-bit (10 digits) and no score or identifier needs more. Python refuses to convert an
# integer of 4,300+ digits (a ValueError json.loads does not turn into a JSONDecodeError), and smaller giants
# cost quadratic time: any integer literal longer than this refuses the file (or the NDJSON line) by name.
MAX_INTEGER_DIGITS = 30
# Byte-order marks of the encodings a spreadsheet or Windows editor may save instead of UTF-8.
_FOREIGN_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
# No self-report is dated before this (nor before the patient's birth date, checked when the patient is known).
EARLIEST_REPORT = datetime(1900, 1, 1)
SELF_REPORT_TYPES = ("QuestionnaireResponse", "Observation")
FINAL_OBSERVATION_STATUSES = ("final", "amended", "corrected")
FINAL_RESPONSE_STATUSES = ("completed", "amended")
CORRECTION_STATUSES = ("amended", "corrected")  # a new version of a report sent before with the same identifier
RETRACTION_STATUS = "entered-in-error"  # the sender withdraws a report sent before with the same identifier
MAX_RETRACTION_REASON = 1000
SELF_REPORT_INSTRUMENTS = ("PHQ-9", "GAD-7")


class FhirInputError(ValueError):
    """The whole file cannot be read (not JSON, not a resource, not a Bundle or NDJSON)."""


class _IntegerTooLong(ValueError):
    """An integer literal longer than ``MAX_INTEGER_DIGITS``."""


def _bounded_int(literal: str) -> int:
    """json's ``parse_int``: refuses giant integer literals before Python converts them."""
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _IntegerTooLong(
            f"a number has {len(literal.lstrip('-')):,} digits (at most {MAX_INTEGER_DIGITS} are read)"
        )
    return int(literal)


def _loads(text: str) -> Any:
    return json.loads(text, parse_int=_bounded_int)


def decode_text(payload: bytes) -> str:
    """The file as text, or a refusal naming the encoding problem (UTF-8 is the only encoding read)."""
    for bom, encoding in _FOREIGN_BOMS:
        if payload.startswith(bom):
            raise FhirInputError(f"the file is {encoding} text; save it as UTF-8 and try again")
    if b"\x00" in payload[:4096]:
        # UTF-16/32 without a byte-order mark: every ASCII character comes with NUL bytes, which UTF-8 JSON
        # never holds (a NUL inside a string is written \u0000).
        raise FhirInputError("the file holds NUL bytes, as UTF-16 or UTF-32 text does; save it as UTF-8 and try again")
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FhirInputError(
            f"the file is not UTF-8 text (byte {error.start:,} is not valid UTF-8; a file saved as Latin-1 or "
            "Windows-1252 looks like this); save it as UTF-8 and try again"
        ) from error


@dataclass(frozen=True)
class InputResource:
    """One resource of an input file: where it was, and the resource or why it could not be read."""

    position: str  # "entry 3", "line 7"
    resource: dict[str, Any] | None
    full_url: str | None = None
    error: str | None = None

    @property
    def label(self) -> str:
        if self.resource is None:
            return self.position
        kind = self.resource.get("resourceType", "?")
        return f"{kind}/{self.resource['id']}" if self.resource.get("id") else f"{kind} ({self.position})"


# A JSON string token. JSON strings never hold a raw line break, so a quote left open on one NDJSON line never
# hides the brackets of the next line (which is parsed on its own).
_JSON_STRING = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"')
_NOT_BRACKETS = bytes(code for code in range(256) if code not in b"[]{}")
_OPENING = frozenset(b"[{")


def json_nesting_depth(text: str, *, stop_above: int = MAX_JSON_DEPTH) -> int:
    """How deeply brackets nest in ``text`` outside JSON strings, found by a scan without recursion (stops
    counting once above ``stop_above``). Across NDJSON lines the count carries on, which can only overstate."""
    brackets = _JSON_STRING.sub("", text).encode("utf-8").translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for bracket in brackets:
        if bracket in _OPENING:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_above:
                    break
        elif depth:
            depth -= 1
    return deepest


def check_input_size(size: int) -> None:
    """Refuse a file larger than ``MAX_INPUT_BYTES`` (before reading it, where the caller can)."""
    if size > MAX_INPUT_BYTES:
        raise FhirInputError(
            f"the file is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MB ({size:,} bytes); split it and try again"
        )


def read_resources(payload: bytes | str) -> list[InputResource]:
    """The resources of a Bundle, a single resource, or NDJSON (one resource per line). A file too large or
    nested too deeply is refused before it is parsed."""
    check_input_size(len(payload))
    text = decode_text(payload) if isinstance(payload, bytes) else payload
    if not text.strip():
        raise FhirInputError("the file is empty")
    if json_nesting_depth(text) > MAX_JSON_DEPTH:
        raise FhirInputError(
            f"the file is nested more than {MAX_JSON_DEPTH} levels deep, far deeper than any FHIR resource read "
            "here: it was not read"
        )
    try:
        document = _loads(text)
    except _IntegerTooLong as error:
        raise FhirInputError(f"{error}: it was not read") from error
    except json.JSONDecodeError:
        return _read_ndjson(text)
    if not isinstance(document, dict) or "resourceType" not in document:
        raise FhirInputError("the file is JSON but not a FHIR resource (no resourceType)")
    if document["resourceType"] != "Bundle":
        return [InputResource("resource 1", document)]
    entries = document.get("entry") or []
    if not isinstance(entries, list):
        raise FhirInputError("Bundle.entry must be a list")
    found = []
    for number, entry in enumerate(entries, start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or "resourceType" not in resource:
            found.append(InputResource(f"entry {number}", None, error="entry has no resource"))
        else:
            found.append(InputResource(f"entry {number}", resource, full_url=entry.get("fullUrl")))
    return found


def _read_ndjson(text: str) -> list[InputResource]:
    found = []
    # Split on line feeds only (NDJSON's separator): str.splitlines would also split inside a JSON string at
    # characters JSON allows there raw (U+2028, U+2029, U+0085), past the depth scan's idea of the string.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            resource = _loads(line)
        except _IntegerTooLong as error:
            found.append(InputResource(f"line {number}", None, error=str(error)))
            continue
        except json.JSONDecodeError as error:
            found.append(InputResource(f"line {number}", None, error=f"not valid JSON ({error.msg})"))
            continue
        if not isinstance(resource, dict) or "resourceType" not in resource:
            found.append(InputResource(f"line {number}", None, error="not a FHIR resource (no resourceType)"))
        else:
            found.append(InputResource(f"line {number}", resource))
    if not found:
        raise FhirInputError("the file is neither JSON nor NDJSON")
    return found


def validation_problem(resource: dict[str, Any]) -> str | None:
    """Why ``resource`` is not valid FHIR R4 (first problems, briefly), or None if it validates."""
    try:
        model = get_fhir_model_class(str(resource.get("resourceType")))
    except KeyError:
        return f"unknown resource type {resource.get('resourceType')!r}"
    try:
        model.model_validate(resource)
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(part) for part in item['loc']) or 'resource'}: {item['msg']}" for item in error.errors()[:3]
        ]
        return "not valid FHIR R4 (" + "; ".join(problems) + ")"
    return None


def patient_mrns(resources: list[InputResource]) -> dict[str, set[str]]:
    """Every way the file's Patient resources can be referred to (fullUrl, ``Patient/id``) -> their MRNs (more
    than one when two Patients share a reference or one Patient carries two MRNs: a conflict, never a guess)."""
    mrns: dict[str, set[str]] = {}
    for item in resources:
        resource = item.resource
        if resource is None or resource.get("resourceType") != "Patient":
            continue
        found = mrns_of(resource.get("identifier"))
        if not found:
            continue
        if item.full_url:
            mrns.setdefault(item.full_url, set()).update(found)
        if resource.get("id"):
            mrns.setdefault(f"Patient/{resource['id']}", set()).update(found)
    return mrns


def mrns_of(identifiers: Any) -> set[str]:
    """Every program MRN among identifiers (a list or a single Identifier)."""
    items = identifiers if isinstance(identifiers, list) else [identifiers] if identifiers else []
    return {
        str(identifier["value"]).strip()
        for identifier in items
        if isinstance(identifier, dict) and identifier.get("system") == interop.MRN_SYSTEM and identifier.get("value")
    }


def parse_datetime(value: Any) -> datetime | None:
    """A FHIR date or dateTime as naive UTC (a date alone means midnight UTC); None if absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time())
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


@dataclass(frozen=True)
class SelfReport:
    """A readable self-report: who (MRN), what (instrument, item answers), when, and its dedupe id."""

    mrn: str
    instrument: str
    answers: list[int]
    administered_at: datetime
    external_id: str
    stated_total: int | None = None
    status: str = "final"

    @property
    def is_correction(self) -> bool:
        """Sent as a new version of a report sent before (FHIR status amended or corrected)."""
        return self.status in CORRECTION_STATUSES


@dataclass(frozen=True)
class Retraction:
    """A report withdrawn by its sender (FHIR status entered-in-error): which report, for whom, and why."""

    mrn: str
    external_id: str
    instrument: str | None  # when the resource names one, it must be the stored report's
    reason: str


def _instrument_for_code(code: str) -> str | None:
    for name in SELF_REPORT_INSTRUMENTS:
        info = clinical.instrument_info(name)
        if code in (info.loinc_panel, info.loinc_total):
            return name
    return None


def _codes(concept: Any) -> list[str]:
    if not isinstance(concept, dict):
        return []
    return [c.get("code", "") for c in concept.get("coding") or [] if c.get("system") == interop.LOINC_SYSTEM]


class _Unreadable(ValueError):
    """A report that cannot be scored as sent; the message is the reason given to the user."""


def _integer(value: Any, what: str) -> int | None:
    """``value`` if it is a JSON integer; None if absent. JSON true/false is refused: Python counts a bool as
    an int (true = 1), and the FHIR models accept it too, so it would be scored silently."""
    if isinstance(value, bool):
        raise _Unreadable(f"{what} is true/false, not a score")
    return value if isinstance(value, int) else None


def _answer_value(instrument: str, holder: dict[str, Any], what: str) -> int | None:
    """An item score from valueInteger or a LOINC answer code (valueCoding / valueCodeableConcept); codes
    naming two different scores are refused rather than one of them picked."""
    value = _integer(holder.get("valueInteger"), what)
    if value is not None:
        return value
    codings = [holder["valueCoding"]] if isinstance(holder.get("valueCoding"), dict) else []
    if isinstance(holder.get("valueCodeableConcept"), dict):
        codings += holder["valueCodeableConcept"].get("coding") or []
    scores = {interop.answer_score(instrument, str(c.get("code", ""))) for c in codings if isinstance(c, dict)}
    scores.discard(None)
    if len(scores) > 1:
        raise _Unreadable(f"{what} has answer codes for different scores ({', '.join(map(str, sorted(scores)))})")
    return scores.pop() if scores else None


def _item_name(instrument: str, code: str) -> str:
    return f"{instrument} item {clinical.instrument_info(instrument).item_loinc.index(code) + 1}"


ANSWER_ONCE = "each item must be answered exactly once"


def external_id_of(resource: dict[str, Any]) -> str | None:
    """The dedupe key: the sender's identifier (``system|value``; our own self-report ids keep just the value),
    else ``ResourceType/id``."""
    identifiers = resource.get("identifier")
    items = identifiers if isinstance(identifiers, list) else [identifiers] if identifiers else []
    for identifier in items:
        if isinstance(identifier, dict) and identifier.get("value"):
            system = identifier.get("system")
            value = str(identifier["value"])
            return value if system in (None, interop.SELF_REPORT_ID_SYSTEM) else f"{system}|{value}"
    if resource.get("id"):
        return f"{resource['resourceType']}/{resource['id']}"
    return None


def _subject_mrns(resource: dict[str, Any], mrns: dict[str, set[str]]) -> set[str]:
    """The MRNs the subject names: its own identifier and the Patient in the file it references."""
    subject = resource.get("subject") or {}
    return mrns_of(subject.get("identifier")) | mrns.get(str(subject.get("reference", "")), set())


def _subject_mrn(resource: dict[str, Any], mrns: dict[str, set[str]]) -> str:
    """The one MRN the subject names, or the reason there is none."""
    subject_mrns = _subject_mrns(resource, mrns)
    if len(subject_mrns) > 1:
        raise _Unreadable(
            f"conflicting MRNs for the subject ({', '.join(sorted(subject_mrns))}): its identifier and the "
            "Patient it references must name the same patient"
        )
    if not subject_mrns:
        raise _Unreadable(
            "no patient: the subject has no MRN identifier (urn:iop:mrn) and names no Patient in the file"
        )
    return next(iter(subject_mrns))


def _parse_retraction(resource: dict[str, Any], mrns: dict[str, set[str]]) -> Retraction | str:
    """An entered-in-error resource: it needs the identifier of the report it withdraws and the patient; the
    answers are not read (a sender may send the report again with only its status changed, or a bare stub)."""
    try:
        mrn = _subject_mrn(resource, mrns)
    except _Unreadable as error:
        return str(error)
    external_id = external_id_of(resource)
    if external_id is None:
        return "entered-in-error without an identifier or id: it cannot name the report it withdraws"
    if len(external_id) > MAX_EXTERNAL_ID:
        return f"identifier longer than {MAX_EXTERNAL_ID} characters"
    if resource["resourceType"] == "Observation":
        instrument = next(
            (name for code in _codes(resource.get("code")) if (name := _instrument_for_code(code))), None
        )
    else:
        canonical = resource.get("questionnaire")
        instrument = interop.questionnaire_instrument(str(canonical)) if canonical else None
    notes = [str(note.get("text")).strip() for note in resource.get("note") or [] if isinstance(note, dict)]
    said = "; ".join(note for note in notes if note)
    reason = "entered in error (FHIR status entered-in-error from the sender)" + (f": {said}" if said else "")
    return Retraction(mrn, external_id, instrument, reason[:MAX_RETRACTION_REASON])


def parse_self_report(resource: dict[str, Any], mrns: dict[str, set[str]]) -> SelfReport | Retraction | str:
    """A self-report, a retraction of one (status entered-in-error), or the reason it is rejected."""
    kind = resource.get("resourceType")
    if kind not in SELF_REPORT_TYPES:
        return f"{kind} is not a self-report (expected QuestionnaireResponse or Observation)"
    problem = validation_problem(resource)
    if problem:
        return problem
    if resource.get("status") == RETRACTION_STATUS:
        return _parse_retraction(resource, mrns)
    try:
        parsed = _parse_observation(resource) if kind == "Observation" else _parse_response(resource)
    except _Unreadable as error:
        return str(error)
    if isinstance(parsed, str):
        return parsed
    instrument, answers, when, stated_total = parsed
    try:
        mrn = _subject_mrn(resource, mrns)
    except _Unreadable as error:
        return str(error)
    external_id = external_id_of(resource)
    if external_id is None:
        return "no identifier and no id to recognise a repeat of this report by"
    if len(external_id) > MAX_EXTERNAL_ID:
        return f"identifier longer than {MAX_EXTERNAL_ID} characters"
    if when is None:
        return "no date: effectiveDateTime (Observation) or authored (QuestionnaireResponse) is required"
    if when < EARLIEST_REPORT:
        return f"dated {when.date().isoformat()}, before 1900: not a plausible date for a self-report"
    return SelfReport(mrn, instrument, answers, when, external_id, stated_total, str(resource["status"]))


_Parsed = tuple[str, list[int], datetime | None, int | None]


def _parse_observation(resource: dict[str, Any]) -> _Parsed | str:
    if resource.get("status") not in FINAL_OBSERVATION_STATUSES:
        return (
            f"status {resource.get('status')!r}: only final, amended or corrected results are imported "
            "(entered-in-error withdraws one stored before)"
        )
    instrument = next((name for code in _codes(resource.get("code")) if (name := _instrument_for_code(code))), None)
    if instrument is None:
        return "not a PHQ-9 or GAD-7 (code must be LOINC 44249-1/44261-6 or 69737-5/70274-6)"
    if resource.get("encounter"):
        return "recorded at an encounter: a clinician-administered score, not a self-report"
    info = clinical.instrument_info(instrument)
    by_code: dict[str, int | None] = {}
    for component in resource.get("component") or []:
        item_codes = sorted({code for code in _codes(component.get("code")) if code in info.item_loinc})
        if len(item_codes) > 1:
            names = " and ".join(_item_name(instrument, code) for code in item_codes)
            return f"one component is coded as {names}: {ANSWER_ONCE}"
        for code in item_codes:
            if code in by_code:
                return f"{_item_name(instrument, code)} is answered more than once (repeated component): {ANSWER_ONCE}"
            by_code[code] = _answer_value(instrument, component, _item_name(instrument, code))
    answers = [by_code.get(code) for code in info.item_loinc]
    if any(answer is None for answer in answers):
        missing = [str(number) for number, answer in enumerate(answers, start=1) if answer is None]
        return f"{instrument}: item answer(s) {', '.join(missing)} missing (components coded with the item LOINC codes)"
    stated = _integer(resource.get("valueInteger"), f"{instrument} total (valueInteger)")
    when = parse_datetime(resource.get("effectiveDateTime"))
    return instrument, [int(a) for a in answers if a is not None], when, stated


def _flatten(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every item, with the items nested in items and in answers (so an answer hidden there is seen)."""
    flat: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        flat.append(item)
        flat += _flatten(item.get("item") or [])
        for answer in item.get("answer") or []:
            if isinstance(answer, dict):
                flat += _flatten(answer.get("item") or [])
    return flat


def _parse_response(resource: dict[str, Any]) -> _Parsed | str:
    if resource.get("status") not in FINAL_RESPONSE_STATUSES:
        return (
            f"status {resource.get('status')!r}: only completed or amended responses are imported "
            "(entered-in-error withdraws one stored before)"
        )
    items = _flatten(resource.get("item") or [])
    link_ids = {str(item.get("linkId", "")).lstrip("/") for item in items}
    canonical = str(resource.get("questionnaire") or "").strip()
    instrument = None
    if canonical:
        # A named Questionnaire must be one of ours or a LOINC-based one: answers to another form (another
        # version, another scale) are never scored as if they were these items.
        instrument = interop.questionnaire_instrument(canonical)
        if instrument is None:
            accepted = ", ".join(
                f"{d.url} (version {d.version})" for d in interop.questionnaire_definitions()
            )
            return (
                f"questionnaire {canonical[:200]!r} is not one this program accepts: name {accepted} (published "
                "with the export as Questionnaire.ndjson) or the LOINC panel (http://loinc.org/q/44249-1, "
                "http://loinc.org/q/69737-5)"
            )
    else:
        for name in SELF_REPORT_INSTRUMENTS:
            if set(clinical.instrument_info(name).item_loinc) <= link_ids:
                instrument = name
                break
    if instrument is None:
        return "not a PHQ-9 or GAD-7 (questionnaire must name LOINC 44249-1 or 69737-5, or items use item LOINC codes)"
    info = clinical.instrument_info(instrument)
    by_code: dict[str, int | None] = {}
    total: int | None = None
    seen: set[str] = set()
    for item in items:
        link_id = str(item.get("linkId", "")).lstrip("/")
        if link_id not in info.item_loinc and link_id != info.loinc_total:
            continue
        name = _item_name(instrument, link_id) if link_id in info.item_loinc else f"{instrument} total"
        if link_id in seen:
            return f"{name} is answered more than once (repeated linkId): {ANSWER_ONCE}"
        seen.add(link_id)
        given = item.get("answer") or []
        if len(given) > 1:
            return f"{name} has {len(given)} answers: {ANSWER_ONCE}"
        answer = given[0] if given else {}
        if link_id in info.item_loinc:
            by_code[link_id] = _answer_value(instrument, answer, name)
        else:
            total = _integer(answer.get("valueInteger"), name)
    answers = [by_code.get(code) for code in info.item_loinc]
    if any(answer is None for answer in answers):
        missing = [str(number) for number, answer in enumerate(answers, start=1) if answer is None]
        return f"{instrument}: item answer(s) {', '.join(missing)} missing (linkId = the item LOINC code)"
    return instrument, [int(a) for a in answers if a is not None], parse_datetime(resource.get("authored")), total


# --- Onboarding -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MedicationInput:
    drug: str
    rxnorm: str | None
    dose: float
    unit: str
    frequency: str
    route: str
    indication: str | None
    start_date: date | None
    source: str  # "MedicationStatement/12"


@dataclass
class OnboardingInput:
    mrn: str = ""
    given_name: str = ""
    family_name: str = ""
    date_of_birth: date | None = None
    sex: str = "unknown"
    state: str = ""
    diagnoses: list[tuple[str, str, bool | None]] = field(default_factory=list)  # code, description, primary?
    allergies: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # substance, reaction, severity
    medications: list[MedicationInput] = field(default_factory=list)
    ignored: int = 0


def _text_of(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"]).strip()
    return next((str(c["display"]).strip() for c in concept.get("coding") or [] if c.get("display")), "")


def _coding_in(concept: Any, system: str) -> dict[str, Any] | None:
    """The first coding of ``concept`` in ``system`` that has a code."""
    if not isinstance(concept, dict):
        return None
    return next((c for c in concept.get("coding") or [] if c.get("system") == system and c.get("code")), None)


def _medication(resource: dict[str, Any], label: str) -> MedicationInput | str:
    concept = resource.get("medicationCodeableConcept")
    if not isinstance(concept, dict):
        return "medicationCodeableConcept is required (a coded medication)"
    rxnorm_coding = _coding_in(concept, interop.RXNORM_SYSTEM)
    rxnorm = str(rxnorm_coding["code"]) if rxnorm_coding else None
    dosages = (
        resource.get("dosage")
        if resource["resourceType"] == "MedicationStatement"
        else resource.get("dosageInstruction")
    )
    first = (dosages or [{}])[0]
    quantity = ((first.get("doseAndRate") or [{}])[0]).get("doseQuantity") or {}
    timing = first.get("timing") or {}
    frequency = _text_of(timing.get("code"))
    if frequency not in clinical.FREQUENCIES:
        repeat = timing.get("repeat") or {}
        per_day = repeat.get("frequency") if repeat.get("period") == 1 and repeat.get("periodUnit") == "d" else None
        frequency = interop.frequency_for_times_per_day(per_day) if isinstance(per_day, int) else None  # type: ignore[assignment]
        if first.get("asNeededBoolean"):
            frequency = "as needed"
    if not isinstance(quantity.get("value"), int | float) or quantity.get("unit") not in clinical.DOSE_UNITS:
        return f"dose needs doseQuantity with a value and a unit of {', '.join(clinical.DOSE_UNITS)}"
    if not frequency:
        return "frequency needs timing.code text (e.g. 'twice daily') or timing.repeat as doses per 1 day"
    start = (
        resource.get("authoredOn")
        or (resource.get("effectivePeriod") or {}).get("start")
        or resource.get("effectiveDateTime")
    )
    started = parse_datetime(start)
    return MedicationInput(
        drug=_text_of(concept),
        rxnorm=rxnorm,
        dose=float(quantity["value"]),
        unit=str(quantity["unit"]),
        frequency=frequency,
        route=_text_of(first.get("route")) or "oral",
        indication=next((_text_of(reason) for reason in resource.get("reasonCode") or []), None) or None,
        start_date=started.date() if started else None,
        source=label,
    )


def parse_onboarding(resources: list[InputResource]) -> tuple[OnboardingInput, dict[str, str]]:
    """Values for a new patient from a Bundle, and every problem found (by resource); nothing is partial."""
    result = OnboardingInput()
    errors: dict[str, str] = {}
    patients = [item for item in resources if item.resource and item.resource.get("resourceType") == "Patient"]
    for item in resources:
        if item.error:
            errors[item.position] = item.error
    if len(patients) != 1:
        errors["Patient"] = f"the Bundle must hold exactly one Patient (found {len(patients)})"
        return result, errors
    for item in resources:
        resource = item.resource
        if resource is None:
            continue
        kind = resource["resourceType"]
        wanted = kind in ("Patient", "Condition", "AllergyIntolerance", "MedicationStatement") or (
            kind == "MedicationRequest" and resource.get("status") == "active"
        )
        if not wanted:
            result.ignored += 1  # history (completed requests), scores, visits: not part of onboarding
            continue
        if kind == "MedicationStatement" and resource.get("status") != "active":
            result.ignored += 1
            continue
        problem = validation_problem(resource)
        if problem:
            errors[item.label] = problem
            continue
        if kind == "Patient":
            _patient(resource, result, errors, item.label)
        elif kind == "Condition":
            coding = _coding_in(resource.get("code"), interop.ICD10CM_SYSTEM)
            if coding is None:
                errors[item.label] = f"needs an ICD-10-CM coding ({interop.ICD10CM_SYSTEM})"
                continue
            primary = next(
                (
                    e.get("valueBoolean")
                    for e in resource.get("extension") or []
                    if e.get("url") == interop.PRIMARY_DIAGNOSIS_EXTENSION
                ),
                None,
            )
            description = _text_of(resource.get("code")) or str(coding.get("display") or "")
            result.diagnoses.append((str(coding["code"]).strip().upper(), description, primary))
        elif kind == "AllergyIntolerance":
            substance = _text_of(resource.get("code"))
            if not substance:
                errors[item.label] = "needs a substance (code.text or a coding display)"
                continue
            reaction = (resource.get("reaction") or [{}])[0]
            manifestation = _text_of((reaction.get("manifestation") or [{}])[0]) or None
            result.allergies.append((substance, manifestation, reaction.get("severity")))
        else:
            medication = _medication(resource, item.label)
            if isinstance(medication, str):
                errors[item.label] = medication
            else:
                result.medications.append(medication)
    return result, errors


def _patient(resource: dict[str, Any], result: OnboardingInput, errors: dict[str, str], label: str) -> None:
    mrns = mrns_of(resource.get("identifier"))
    mrn = next(iter(mrns)) if len(mrns) == 1 else None
    name = (resource.get("name") or [{}])[0]
    given = (name.get("given") or [""])[0]
    state = next((str(a.get("state", "")).strip().upper() for a in resource.get("address") or [] if a.get("state")), "")
    birth = parse_datetime(resource.get("birthDate"))
    if len(mrns) > 1:
        errors[label] = f"has {len(mrns)} different MRNs ({', '.join(sorted(mrns))}); a patient has one"
    elif not mrn:
        errors[label] = f"needs an MRN identifier with system {interop.MRN_SYSTEM}"
    elif not (name.get("family") and given):
        errors[label] = "needs a family and a given name"
    elif birth is None:
        errors[label] = "needs a birthDate"
    elif len(state) != 2:
        errors[label] = "needs an address with a two-letter US state (state of residence decides prescribing rules)"
    else:
        result.mrn, result.family_name, result.given_name = mrn, str(name["family"]).strip(), str(given).strip()
        result.date_of_birth, result.state = birth.date(), state
        result.sex = resource.get("gender") or "unknown"
