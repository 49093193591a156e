"""An offline check of FHIR resources against the US Core 6.1.0 profile requirements in tests/data/us_core_6_1.

What it checks per resource (the profile is the one the resource names in ``meta.profile``):
- cardinality: every mandatory element (min >= 1) is present wherever its parent is; slice minimums/maximums;
- fixed and pattern values (vital-sign codes, UCUM system and units, category slices);
- required bindings for the value sets shipped in ``valuesets.json`` (codes; for Coding/CodeableConcept at least
  one coding from the set);
- reference targets: a relative reference (``Type/id``), or a ``urn:uuid`` resolved by the caller, must point to a
  resource type the profile allows;
- the invariants listed in each profile file that are implemented here (``INVARIANTS``); an unknown key fails.
It also counts, per profile, how many resources populate each must-support element (a report, not a failure:
must-support obliges a sender to send the element when it has the data).

What it does not check (see README, "Conformance"): terminology server bindings (extensible/preferred sets,
LOINC/RxNorm/ICD-10-CM code validity), FHIRPath invariants other than those implemented here, base R4 structure
(``fhir.resources`` checks that), and anything in the full StructureDefinition snapshots that the requirements
files do not carry.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent / "data" / "us_core_6_1"
_EXTENSION_STEP = re.compile(r"^extension\((?P<url>[^)]+)\)$")
_DAY_PRECISION = re.compile(r"^\d{4}-\d{2}-\d{2}")
ORDER_INTENTS = {"order", "original-order", "reflex-order", "filler-order", "instance-order"}

Resource = dict[str, Any]


@dataclass(frozen=True)
class Issue:
    profile: str
    resource: str  # Type/id
    severity: str  # "error" or "warning"
    rule: str
    message: str


@dataclass
class Report:
    """What a run found: issues, resources per profile, must-support elements populated per profile."""

    issues: list[Issue] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    must_support: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    @property
    def errors(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity == "warning"]


@cache
def profiles() -> dict[str, dict[str, Any]]:
    """The requirements files by profile URL."""
    found = {}
    for path in sorted(DATA_DIR.glob("us-core-*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found[data["url"]] = data
    return found


@cache
def value_sets() -> dict[str, tuple[frozenset[tuple[str, str]], frozenset[str]]]:
    """Each shipped value set as ((system, code) pairs, bare codes)."""
    raw = json.loads((DATA_DIR / "valuesets.json").read_text(encoding="utf-8"))["valueSets"]
    return {
        url: (
            frozenset((system, code) for system, code in entry["codes"]),
            frozenset(code for _, code in entry["codes"]),
        )
        for url, entry in raw.items()
    }


# --- navigation --------------------------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _step(node: Any, name: str) -> list[Any]:
    if not isinstance(node, dict):
        return []
    if name.startswith("extension("):
        url = _EXTENSION_STEP.match(name)["url"]  # type: ignore[index]
        return [e for e in _as_list(node.get("extension")) if isinstance(e, dict) and e.get("url") == url]
    if name.endswith("[x]"):
        stem = name[:-3]
        cut = len(stem)
        return [
            item
            for key, value in node.items()
            if key.startswith(stem) and key[cut:cut + 1].isupper()
            for item in _as_list(value)
        ]
    value = node.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@cache
def _split(path: str) -> tuple[str, ...]:
    """``Patient.extension(http://x/y.z).valueCode`` -> ["extension(http://x/y.z)", "valueCode"] (the resource
    type dropped; dots inside parentheses kept)."""
    parts, depth, current = [], 0, ""
    for char in path:
        if char == "." and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += char == "("
        depth -= char == ")"
        current += char
    parts.append(current)
    return tuple(parts[1:])


def values_at(resource: Resource, path: str) -> list[Any]:
    nodes: list[Any] = [resource]
    for name in _split(path):
        if len(nodes) == 1:
            nodes = _step(nodes[0], name)
        else:
            nodes = [item for node in nodes for item in _step(node, name)]
        if not nodes:
            return nodes
    return nodes


def _present(value: Any) -> bool:
    return value not in (None, "", [], {})


def _matches(value: Any, pattern: Any) -> bool:
    """FHIR pattern semantics: every element of the pattern appears in the value (lists: each pattern item
    matches some value item)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(_matches(value.get(key), item) for key, item in pattern.items())
    if isinstance(pattern, list):
        return isinstance(value, list) and all(any(_matches(v, p) for v in value) for p in pattern)
    return value == pattern


def _in_value_set(value: Any, url: str) -> bool | None:
    """True/False when the value set is shipped; None when it is not (cannot be checked offline)."""
    if url not in value_sets():
        return None
    pairs, codes = value_sets()[url]
    if isinstance(value, str):
        return value in codes
    if isinstance(value, dict) and "coding" in value:
        return any((c.get("system"), c.get("code")) in pairs for c in _as_list(value.get("coding")))
    if isinstance(value, dict):
        return (value.get("system"), value.get("code")) in pairs
    return False


# --- invariants --------------------------------------------------------------------------------------------------


def _us_core_21(r: Resource) -> str | None:
    if r.get("intent") in ORDER_INTENTS and not _present(r.get("requester")):
        return "requester SHALL be present if intent is an order"
    return None


def _us_core_6(r: Resource) -> str | None:
    names = _as_list(r.get("name"))
    if not any(_present(n.get("family")) or _present(n.get("given")) for n in names) and not any(
        "data-absent-reason" in str(e.get("url")) for n in names for e in _as_list(n.get("extension"))
    ):
        return "Patient.name.given and/or Patient.name.family SHALL be present or a Data Absent Reason"
    return None


def _omb_extension(url: str) -> Callable[[Resource], str | None]:
    def check(r: Resource) -> str | None:
        for ext in values_at(r, f"{r['resourceType']}.extension({url})"):
            parts = Counter(e.get("url") for e in _as_list(ext.get("extension")))
            if parts["text"] != 1:
                return f"{url}: exactly one 'text' sub-extension (found {parts['text']})"
            if parts["ombCategory"] > (6 if url.endswith("race") else 1):
                return f"{url}: too many ombCategory sub-extensions"
            if any(key.startswith("value") for key in ext):
                return f"{url}: a complex extension has no value[x]"
        return None

    return check


def _vs_1(r: Resource) -> str | None:
    effective = r.get("effectiveDateTime")
    if isinstance(effective, str) and not _DAY_PRECISION.match(effective):
        return "effectiveDateTime SHALL be at least to a day"
    return None


def _has_value(node: Mapping[str, Any]) -> bool:
    return any(key.startswith("value") and key[5:6].isupper() for key in node)


def _vs_2(r: Resource) -> str | None:
    if not r.get("component") and not r.get("hasMember") and not _has_value(r) and "dataAbsentReason" not in r:
        return "no component or hasMember: a value[x] or a dataAbsentReason SHALL be present"
    return None


def _vs_3(r: Resource) -> str | None:
    for component in _as_list(r.get("component")):
        if not _has_value(component) and "dataAbsentReason" not in component:
            return "every component SHALL have a value[x] or a dataAbsentReason"
    return None


def _obs_6(r: Resource) -> str | None:
    if "dataAbsentReason" in r and _has_value(r):
        return "dataAbsentReason SHALL only be present if value[x] is not"
    return None


def _obs_7(r: Resource) -> str | None:
    own = {(c.get("system"), c.get("code")) for c in _as_list(r.get("code", {}).get("coding"))}
    for component in _as_list(r.get("component")):
        shared = own & {(c.get("system"), c.get("code")) for c in _as_list(component.get("code", {}).get("coding"))}
        if shared and _has_value(r):
            return "a component with the Observation's own code: the Observation SHALL have no value"
    return None


def _ucum_quantity(r: Resource) -> str | None:
    quantities = [*_as_list(r.get("valueQuantity"))]
    quantities += [q for rng in _as_list(r.get("referenceRange")) for q in (rng.get("low"), rng.get("high")) if q]
    for quantity in quantities:
        if "value" in quantity and not (quantity.get("system") == "http://unitsofmeasure.org" and quantity.get("code")):
            return f"a quantity without a UCUM system and code: {quantity}"
    return None


def _condition_status(r: Resource) -> str | None:  # con-3, con-5
    verification = {c.get("code") for c in _as_list((r.get("verificationStatus") or {}).get("coding"))}
    if "entered-in-error" in verification and "clinicalStatus" in r:
        return "con-5: clinicalStatus SHALL NOT be present if verificationStatus is entered-in-error"
    if "entered-in-error" not in verification and "clinicalStatus" not in r:
        return "con-3: clinicalStatus SHALL be present unless verificationStatus is entered-in-error"
    return None


def _condition_abatement(r: Resource) -> str | None:  # con-4
    clinical = {c.get("code") for c in _as_list((r.get("clinicalStatus") or {}).get("coding"))}
    if any(key.startswith("abatement") for key in r) and not clinical & {"inactive", "resolved", "remission"}:
        return "con-4: an abated condition's clinicalStatus must be inactive, resolved or remission"
    return None


def _allergy_status(r: Resource) -> str | None:  # ait-1, ait-2
    verification = {c.get("code") for c in _as_list((r.get("verificationStatus") or {}).get("coding"))}
    if "entered-in-error" in verification and "clinicalStatus" in r:
        return "ait-2: clinicalStatus SHALL NOT be present if verificationStatus is entered-in-error"
    if "entered-in-error" not in verification and "clinicalStatus" not in r:
        return "ait-1: clinicalStatus SHALL be present unless verificationStatus is entered-in-error"
    return None


INVARIANTS: dict[str, Callable[[Resource], str | None]] = {
    "us-core-21": _us_core_21,
    "us-core-6": _us_core_6,
    "us-core-race-text": _omb_extension("http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"),
    "us-core-ethnicity-text": _omb_extension("http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"),
    "vs-1": _vs_1,
    "vs-2": _vs_2,
    "vs-3": _vs_3,
    "obs-6": _obs_6,
    "obs-7": _obs_7,
    "ucum-quantity": _ucum_quantity,
    "con-3": _condition_status,
    "con-4": _condition_abatement,
    "con-5": _condition_status,
    "ait-1": _allergy_status,
    "ait-2": _allergy_status,
}
# Extensible bindings are reported, not failed: a concept outside the set is allowed when none fits.
WARNINGS: dict[str, Callable[[Resource], str | None]] = {
    "extensible-rxnorm-clinical-drug": lambda r: (
        None
        if len(_as_list(r.get("medicationCodeableConcept", {}).get("coding"))) > 1
        else "no RxNorm clinical-drug (SCD) coding next to the ingredient (US Core Medication Codes, extensible)"
    ),
}


# --- the check ---------------------------------------------------------------------------------------------------


def check_resource(
    resource: Resource, report: Report, *, resolve: Mapping[str, str] | None = None
) -> None:
    """Check one resource against the profile it declares, adding what is found to ``report``. ``resolve`` maps
    a Bundle's ``urn:uuid`` full URLs to resource types (for reference targets)."""
    label = f"{resource.get('resourceType')}/{resource.get('id')}"
    declared = _as_list((resource.get("meta") or {}).get("profile"))
    known = [url for url in declared if url in profiles()]
    if not known:
        report.issues.append(Issue("-", label, "error", "meta.profile", f"no known US Core 6.1.0 profile: {declared}"))
        return
    for url in known:
        profile = profiles()[url]
        name = profile["id"]
        report.counts[name] += 1

        def fail(rule: str, message: str, severity: str = "error", name: str = name) -> None:
            report.issues.append(Issue(name, label, severity, rule, message))

        if resource.get("resourceType") != profile["type"]:
            fail("type", f"profile is for {profile['type']}")
            continue
        for path in profile["mandatory"]:
            parent_path, _, child = path.rpartition(".")
            parents = [resource] if parent_path == profile["type"] else values_at(resource, parent_path)
            for parent in parents:
                if not any(_present(v) for v in _step(parent, child)):
                    fail("cardinality", f"{path} is mandatory (min 1)")
                    break
        for rule in profile["fixed"]:
            found = values_at(resource, rule["path"])
            if "pattern" in rule and not any(_matches(v, rule["pattern"]) for v in found):
                fail("pattern", f"{rule['path']} must include {rule['pattern']}")
            if "value" in rule and any(v != rule["value"] for v in found):
                fail("fixed", f"{rule['path']} must be {rule['value']!r} (found {sorted(set(map(str, found)))})")
        for slice_rule in profile["slices"]:
            members = values_at(resource, slice_rule["path"])
            if "pattern" in slice_rule:
                matching = [m for m in members if _matches(m, slice_rule["pattern"])]
            else:
                matching = [m for m in members if _in_value_set(m, slice_rule["binding"])]
            if len(matching) < slice_rule["min"]:
                fail("slice", f"{slice_rule['path']}:{slice_rule['name']} needs at least {slice_rule['min']}")
            if "max" in slice_rule and len(matching) > slice_rule["max"]:
                fail("slice", f"{slice_rule['path']}:{slice_rule['name']} allows at most {slice_rule['max']}")
        for binding in profile["requiredBindings"]:
            for value in values_at(resource, binding["path"]):
                if _in_value_set(value, binding["valueSet"]) is False:
                    fail("binding", f"{binding['path']} = {value!r} is not in {binding['valueSet']}")
        for target in profile["references"]:
            for value in values_at(resource, target["path"]):
                reference = value.get("reference") if isinstance(value, dict) else None
                if not reference:
                    continue
                kind = (resolve or {}).get(reference) or (reference.split("/")[0] if "/" in reference else None)
                if kind is None:
                    fail("reference", f"{target['path']} {reference} cannot be resolved")
                elif kind not in target["types"]:
                    fail("reference", f"{target['path']} points to {kind}, allowed: {target['types']}")
        for key in profile["invariants"]:
            check = INVARIANTS.get(key) or WARNINGS.get(key)
            if check is None:
                fail(key, "invariant listed in the profile file but not implemented")
                continue
            message = check(resource)
            if message:
                fail(key, message, "warning" if key in WARNINGS else "error")
        for path in profile["mustSupport"]:
            if values_at(resource, path):
                report.must_support[name][path] += 1
        for url_ in profile["mustSupportExtensions"]:
            if values_at(resource, f"{profile['type']}.extension({url_})"):
                report.must_support[name][f"extension:{url_.rsplit('/', 1)[-1]}"] += 1


def check_all(resources: Iterable[Resource], *, resolve: Mapping[str, str] | None = None) -> Report:
    report = Report()
    for resource in resources:
        check_resource(resource, report, resolve=resolve)
    return report
