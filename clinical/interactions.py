"""Drug-drug interaction screening: the pair table, and class rules that read each drug's properties.

Findings come from two places. The pair table (interactions.json) holds curated pairs by drug or class tag,
each with its own advice. The class rules (class_rules.json) screen every pair of known drugs by property:
MAO inhibition, serotonergic load, QT risk, CNS depression, CYP inhibition and induction, and therapeutic
duplication. A pair entry replaces the class findings it covers for the same two drugs. A medication that is
not known is reported as "unknown, not checked" rather than passed silently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import combinations
from typing import Any

from clinical._data import load
from clinical.formulary import _normalise
from clinical.medications import (
    _knowledge,
    drug_properties,
    known_medications,
    medication_ingredients,
    resolve_medication,
    source_citation,
)

SEVERITY_RANK = {"contraindicated": 0, "major": 1, "moderate": 2, "unknown": 3}
KINDS: tuple[str, ...] = (
    "pair",
    "maoi",
    "serotonergic",
    "qt",
    "cns_depressant",
    "cyp",
    "duplicate_therapy",
    "unknown",
)
_KIND_ORDER = {kind: index for index, kind in enumerate(KINDS)}
_STRENGTHS = ("strong", "moderate")


@dataclass(frozen=True)
class Interaction:
    """One finding between two medications (names as given): the risk, how severe, and what to do.

    ``kind`` says which screen found it: "pair" (the curated pair table) or a class rule ("maoi",
    "serotonergic", "qt", "cns_depressant", "cyp", "duplicate_therapy"); "unknown" means a medication was not
    recognised, so the pair was not checked (severity "unknown")."""

    drugs: tuple[str, str]
    severity: str
    advice: str
    effect: str | None
    source: tuple[str, ...]
    kind: str = "pair"


@dataclass(frozen=True)
class _Finding:
    severity: str
    advice: tuple[str, ...]
    effect: str | None
    sources: tuple[str, ...]
    size: int = 0  # pair table: members on both sides (smaller is more specific)


# ------------------------------------------------------------------------------------------------ pair table


@cache
def _class_members() -> dict[str, frozenset[str]]:
    members: dict[str, set[str]] = {}
    for name, entry in _knowledge()["drugs"].items():
        for tag in entry.get("classes", []):
            members.setdefault(tag, set()).add(name)
    return {tag: frozenset(names) for tag, names in members.items()}


def _side_members(side: list[str]) -> frozenset[str]:
    classes = _class_members()
    names: set[str] = set()
    for item in side:
        names |= classes.get(item, frozenset({item}))
    return frozenset(names)


@cache
def _pairs() -> list[tuple[frozenset[str], frozenset[str], dict[str, Any], int]]:
    result = []
    for raw in load("interactions")["interactions"]:
        a, b = _side_members(raw["a"]), _side_members(raw["b"])
        result.append((a, b, raw, len(a) + len(b)))
    return result


def known_interacting_names() -> frozenset[str]:
    """Every drug name the checker knows: formulary drugs and the outside medications in drugs.json."""
    return frozenset(known_medications())


def _pair_table(x: str, y: str) -> tuple[_Finding | None, frozenset[str]]:
    """The most severe, then most specific, pair-table entry for ingredients x and y, and every kind covered."""
    best: tuple[int, int, dict[str, Any]] | None = None
    covered: set[str] = set()
    for a, b, raw, size in _pairs():
        if (x in a and y in b) or (x in b and y in a):
            covered.update(raw.get("covers", []))
            candidate = (SEVERITY_RANK[raw["severity"]], size, raw)
            if best is None or candidate[:2] < best[:2]:
                best = candidate
    if best is None:
        return None, frozenset(covered)
    raw = best[2]
    advice_for = raw.get("advice_for", {})
    advice = (raw["advice"], *(advice_for[d] for d in (x, y) if d in advice_for))
    return _Finding(raw["severity"], advice, raw.get("effect"), tuple(raw.get("sources", [])), best[1]), frozenset(
        covered
    )


# ------------------------------------------------------------------------------------------------ class rules


@cache
def _rules() -> dict[str, Any]:
    rules: dict[str, Any] = load("class_rules")
    return rules


def _citations(keys: Iterable[str]) -> tuple[str, ...]:
    seen: list[str] = []
    for key in keys:
        citation = source_citation(key)
        if citation not in seen:
            seen.append(citation)
    return tuple(seen)


def _property_sources(drug: str, *properties: str) -> list[str]:
    sources = drug_properties(drug).get("sources", {})
    return [key for prop in properties for key in sources.get(prop, [])]


def _notes(kind: str, *drugs: str) -> list[str]:
    notes = []
    for drug in dict.fromkeys(drugs):
        note = drug_properties(drug).get("notes", {}).get(kind)
        if note:
            notes.append(note["text"])
    return notes


def _note_sources(kind: str, *drugs: str) -> list[str]:
    keys: list[str] = []
    for drug in dict.fromkeys(drugs):
        note = drug_properties(drug).get("notes", {}).get(kind)
        if note:
            keys.extend(note["source"])
    return keys


def _maoi(x: str, y: str, names: dict[str, str]) -> _Finding | None:
    rule = _rules()["maoi"]
    px, py = drug_properties(x), drug_properties(y)
    if not (px.get("maoi") or py.get("maoi")):
        return None
    inhibitor, partner = (x, y) if px.get("maoi") and (not py.get("maoi") or px["maoi"] == "full") else (y, x)
    level = drug_properties(inhibitor)["maoi"]
    other = drug_properties(partner)
    if other.get("maoi"):
        trigger, template = "maoi", "maoi"
    elif other.get("with_maoi") in ("contraindicated", "major"):
        trigger, template = other["with_maoi"], level
    elif other.get("serotonergic"):
        trigger, template = "serotonergic", "serotonergic" if level == "full" else "partial"
    else:
        return None
    advice = rule["advice"][template].format(a=names[inhibitor], b=names[partner])
    sources = [
        *rule["sources"],
        *_property_sources(inhibitor, "maoi"),
        *_property_sources(partner, "maoi", "with_maoi", "serotonergic"),
        *_note_sources("maoi", x, y),
    ]
    return _Finding(
        rule["severity"][level][trigger], (advice, *_notes("maoi", x, y)), rule["effect"], _citations(sources)
    )


def _serotonergic(x: str, y: str, names: dict[str, str]) -> _Finding | None:
    rule = _rules()["serotonergic"]
    px, py = drug_properties(x), drug_properties(y)
    if px.get("maoi") or py.get("maoi") or not (px.get("serotonergic") and py.get("serotonergic")):
        return None
    strengths = "+".join(sorted((px["serotonergic"], py["serotonergic"])))
    severity = rule["severity"].get(strengths)
    if severity is None:
        return None
    advice = rule["advice"][severity].format(a=names[x], b=names[y])
    sources = [*rule["sources"], *_property_sources(x, "serotonergic"), *_property_sources(y, "serotonergic")]
    return _Finding(severity, (advice, *_notes("serotonergic", x, y)), rule["effect"], _citations(sources))


def _qt(x: str, y: str, names: dict[str, str]) -> _Finding | None:
    rule = _rules()["qt"]
    px, py = drug_properties(x), drug_properties(y)
    risks = (px.get("qt_risk"), py.get("qt_risk"))
    if not all(risks) or rule["requires_category"] not in risks:
        return None
    # A drug's own label escalates only against partners that prolong QT at usual doses: Known or Possible
    # risk, or a label QT warning of their own (Conditional-risk drugs otherwise prolong QT only under conditions).
    partners = rule["label_partner_categories"]
    labels = {
        label
        for label, partner, partner_risk in ((px.get("qt_label"), py, risks[1]), (py.get("qt_label"), px, risks[0]))
        if label and (partner_risk in partners or partner.get("qt_label"))
    }
    table = rule["severity"]
    if "contraindicated" in labels:
        severity = table["label_contraindicated"]
    elif "avoid" in labels:
        severity = table["label_avoid"]
    elif risks == ("known", "known"):
        severity = table["both_known"]
    else:
        severity = table["otherwise"]
    advice = rule["advice"].format(a=names[x], b=names[y], a_risk=risks[0], b_risk=risks[1])
    sources = [
        *rule["sources"],
        *_property_sources(x, "qt_risk", "qt_label"),
        *_property_sources(y, "qt_risk", "qt_label"),
        *_note_sources("qt", x, y),
    ]
    return _Finding(severity, (advice, *_notes("qt", x, y)), rule["effect"], _citations(sources))


def _cns(x: str, y: str, names: dict[str, str]) -> _Finding | None:
    rule = _rules()["cns_depressant"]
    cx, cy = drug_properties(x).get("cns_depressant"), drug_properties(y).get("cns_depressant")
    if not (cx and cy):
        return None
    for candidate in rule["rules"]:
        if cx in candidate["a"] and cy in candidate["b"]:
            first, second = x, y
        elif cy in candidate["a"] and cx in candidate["b"]:
            first, second = y, x
        else:
            continue
        advice = candidate["advice"].format(a=names[first], b=names[second])
        sources = [
            *candidate["sources"],
            *_property_sources(x, "cns_depressant"),
            *_property_sources(y, "cns_depressant"),
            *_note_sources("cns_depressant", x, y),
        ]
        return _Finding(
            candidate["severity"],
            (advice, *_notes("cns_depressant", x, y)),
            rule["effect"],
            _citations(sources),
        )
    return None


def _cyp_one_way(perpetrator: str, substrate: str, names: dict[str, str]) -> list[tuple[str, str, list[str]]]:
    """(severity, advice, source keys) for each enzyme where ``perpetrator`` inhibits or induces ``substrate``."""
    rule = _rules()["cyp"]
    p, s = drug_properties(perpetrator), drug_properties(substrate)
    found = []
    for enzyme, responses in s.get("cyp_substrate", {}).items():
        for role, action in (("cyp_inhibitor", "inhibitor"), ("cyp_inducer", "inducer")):
            strength = p.get(role, {}).get(enzyme)
            if strength not in _STRENGTHS:
                continue
            trigger = f"{strength}_{action}"
            response = responses.get(trigger) or rule["default"].get(trigger)
            if response is None:
                continue
            advice = response["advice"].format(
                substrate=names[substrate], perpetrator=names[perpetrator], enzyme=enzyme
            )
            keys = [*response.get("source", []), *_property_sources(perpetrator, role)]
            keys += _property_sources(substrate, "cyp_substrate")
            found.append((response["severity"], advice, keys))
    return found


def _cyp(x: str, y: str, names: dict[str, str]) -> _Finding | None:
    rule = _rules()["cyp"]
    found = _cyp_one_way(x, y, names) + _cyp_one_way(y, x, names)
    if not found:
        return None
    severity = min((f[0] for f in found), key=SEVERITY_RANK.__getitem__)
    advice = tuple(dict.fromkeys(f[1] for f in sorted(found, key=lambda f: SEVERITY_RANK[f[0]])))
    keys = [*rule["sources"], *(key for f in found for key in f[2])]
    return _Finding(severity, advice, rule["effect"], _citations(keys))


def _same_ingredient(ingredient: str, name_x: str, name_y: str) -> _Finding:
    rule = _rules()["duplicate_therapy"]
    advice = rule["same_ingredient_advice"].format(a=name_x, b=name_y, ingredient=ingredient)
    return _Finding("moderate", (advice,), rule["effect"], _citations(rule["sources"]))


def _duplicate(x: str, y: str, names: dict[str, str]) -> _Finding | None:
    rule = _rules()["duplicate_therapy"]
    shared = [
        c
        for c in drug_properties(x).get("classes", [])
        if c in rule["classes"] and c in drug_properties(y).get("classes", [])
    ]
    if not shared:
        return None
    drug_class = min(shared, key=lambda c: SEVERITY_RANK[rule["classes"][c]])
    advice = rule["advice"].format(a=names[x], b=names[y], drug_class=drug_class)
    extra = rule["class_advice"].get(drug_class)
    sources = [*rule["sources"], *_property_sources(x, "classes"), *_property_sources(y, "classes")]
    return _Finding(
        rule["classes"][drug_class], (advice, *([extra] if extra else [])), rule["effect"], _citations(sources)
    )


_CLASS_RULES = (
    ("maoi", _maoi),
    ("serotonergic", _serotonergic),
    ("qt", _qt),
    ("cns_depressant", _cns),
    ("cyp", _cyp),
    ("duplicate_therapy", _duplicate),
)


# ------------------------------------------------------------------------------------------------ screening


def _more_severe(first: _Finding | None, second: _Finding) -> _Finding:
    if first is None:
        return second
    if SEVERITY_RANK[second.severity] < SEVERITY_RANK[first.severity]:
        return _Finding(
            second.severity,
            tuple(dict.fromkeys((*second.advice, *first.advice))),
            second.effect,
            tuple(dict.fromkeys((*second.sources, *first.sources))),
            second.size,
        )
    return _Finding(
        first.severity,
        tuple(dict.fromkeys((*first.advice, *second.advice))),
        first.effect,
        tuple(dict.fromkeys((*first.sources, *second.sources))),
        first.size,
    )


@lru_cache(maxsize=8192)
def _screen_ingredients(x: str, y: str, name_x: str, name_y: str) -> tuple[tuple[str, _Finding], ...]:
    """Every finding, by kind, between ingredient x (of medication name_x) and ingredient y (of name_y)."""
    if x == y:
        return (("duplicate_therapy", _same_ingredient(x, name_x, name_y)),)
    names = {x: name_x, y: name_y}
    findings: list[tuple[str, _Finding]] = []
    pair, covered = _pair_table(x, y)
    if pair is not None:
        findings.append(("pair", pair))
    for kind, rule in _CLASS_RULES:
        if kind in covered:
            continue
        finding = rule(x, y, names)
        if finding is not None:
            findings.append((kind, finding))
    return tuple(findings)


def _dedup_key(name: str) -> str:
    return resolve_medication(name) or _normalise(name)


def check_interactions(drugs: list[str]) -> list[Interaction]:
    """Every finding among ``drugs`` (names as given, in or outside the formulary), most severe first.

    Each pair of medications gives at most one finding per kind: the pair table ("pair"), then each class
    rule it does not cover. A name that is not known gives a finding of kind and severity "unknown" with each
    other medication ("not checked"). Combination products are screened by their ingredients; the same name
    twice (any spelling) counts once.
    """
    given: list[str] = []
    seen: set[str] = set()
    for name in drugs:
        if isinstance(name, str) and name.strip() and _dedup_key(name) not in seen:
            seen.add(_dedup_key(name))
            given.append(name)
    unknown_rule = _rules()["unknown"]
    found: list[tuple[int, int, int, int, Interaction]] = []
    for position, (first, second) in enumerate(combinations(given, 2)):
        known_first, unknown_first = medication_ingredients(first)
        known_second, unknown_second = medication_ingredients(second)
        by_kind: dict[str, _Finding] = {}
        for x in known_first:
            for y in known_second:
                for kind, finding in _screen_ingredients(x, y, first, second):
                    by_kind[kind] = _more_severe(by_kind.get(kind), finding)
        if unknown_first or unknown_second:
            advice = tuple(
                unknown_rule["advice"].format(a=part, b=other)
                for parts, other in ((unknown_first, second), (unknown_second, first))
                for part in parts
            )
            by_kind["unknown"] = _Finding("unknown", advice, None, ())
        for kind, finding in by_kind.items():
            interaction = Interaction(
                (first, second), finding.severity, " ".join(finding.advice), finding.effect, finding.sources, kind
            )
            found.append((SEVERITY_RANK[finding.severity], _KIND_ORDER[kind], finding.size, position, interaction))
    found.sort(key=lambda item: item[:4])
    return [item[4] for item in found]
