"""Every drug the screens know, in and outside the formulary: names, classes and interaction properties as data.

The formulary (formulary.json) holds what the program prescribes; drugs.json adds the properties the interaction
screen reads (QT risk, serotonergic strength, MAO inhibition, CNS depression, CYP roles, class tags) for those
drugs and for the outside medications that matter in psychiatry (opioids, triptans, antibiotics, azoles,
antiretrovirals, anticonvulsants, antihypertensives, NSAIDs, contraceptives, over-the-counter and herbal products).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from types import MappingProxyType
from typing import Any

from clinical._data import load
from clinical.formulary import _normalise, _raw_entries, formulary, formulary_entry, resolve_drug

QT_RISK_ORDER = ("known", "possible", "conditional")
SEROTONERGIC_ORDER = ("strong", "weak")
STRENGTH_ORDER = ("strong", "moderate", "weak")

# Words that name a release or dose form, and words that name a salt: "tramadol hydrochloride 50 mg tablet" is
# tramadol. Forms are stripped first so that a salt that is itself the drug ("potassium chloride ER") still resolves.
_DOSE_FORM_WORDS = frozenset(
    """
    er xr xl sr ir cr dr ec la odt extended delayed immediate controlled release
    tablet tablets tab tabs capsule capsules cap caps oral solution suspension syrup liquid drops injection
    injectable patch transdermal cream gel ointment sublingual film spray nasal chewable dispersible
    mg mcg g ml unit units iu
    """.split()
)
_SALT_WORDS = frozenset(
    """
    hcl hydrochloride hydrobromide sodium potassium calcium magnesium carbonate citrate sulfate sulphate succinate
    tartrate bitartrate maleate mesylate besylate fumarate acetate phosphate bromide dihydrate monohydrate
    trihydrate anhydrous pamoate hyclate valerate propionate dipropionate furoate xinafoate decanoate
    enanthate palmitate lauroxil
    """.split()
)
_STRENGTH = re.compile(r"\b\d+(?:\.\d+)?\s*(?:mg|mcg|µg|g|ml|%|units?|iu)?\b")
_COMBINATION_SEPARATOR = re.compile(r"\s*(?:/|\+|,|\bwith\b|\band\b|&)\s*")


@dataclass(frozen=True)
class MedicationProfile:
    """What the screens know about one medication (a single drug, or a combination product's ingredients)."""

    name: str  # canonical generic name ("buprenorphine/naloxone", "oxycodone/acetaminophen")
    ingredients: tuple[str, ...]  # canonical names screened for this medication
    in_formulary: bool
    classes: tuple[str, ...]
    qt_risk: str | None  # CredibleMeds: "known", "possible", "conditional"
    serotonergic: str | None  # "strong", "weak"
    maoi: str | None  # "full", "partial"
    cns_depressant: str | None
    cyp_inhibitor: Mapping[str, str]
    cyp_inducer: Mapping[str, str]
    cyp_substrate_of: tuple[str, ...]
    rxnorm: str | None
    sources: tuple[str, ...]


@cache
def _knowledge() -> dict[str, Any]:
    data: dict[str, Any] = load("drugs")
    return data


def drug_properties(canonical: str) -> dict[str, Any]:
    """The raw drugs.json entry of a canonical drug name ({} if it has none)."""
    entry: dict[str, Any] = _knowledge()["drugs"].get(canonical, {})
    return entry


def source_citation(key: str) -> str:
    """The citation text of a source key used in drugs.json and class_rules.json (the key itself if unknown)."""
    return str(_knowledge()["sources"].get(key, key))


def _strip_words(key: str, words: frozenset[str]) -> str:
    key = re.sub(r"\([^)]*\)", " ", key)
    key = _STRENGTH.sub(" ", key)
    return _normalise(" ".join(word for word in key.replace("/", " / ").split() if word not in words))


@cache
def _index() -> dict[str, str]:
    """Normalised name or alias -> canonical name, for every drug in drugs.json (formulary names resolve first)."""
    index: dict[str, str] = {}
    for name, entry in _knowledge()["drugs"].items():
        for alias in (name, *entry.get("aliases", [])):
            index.setdefault(_normalise(alias), name)
    return index


# Free text reaches these look-ups, so their caches are bounded.
@lru_cache(maxsize=4096)
def resolve_medication(name: str) -> str | None:
    """The canonical name of a formulary drug or a known outside medication (any accepted name); None if unknown.

    Salts, strengths and dose forms are ignored ("Tramadol HCl 50 mg tablet" is tramadol)."""
    if not isinstance(name, str) or not name.strip():
        return None
    formulary_name = resolve_drug(name)
    if formulary_name is not None:
        return formulary_name
    index = _index()
    key = _normalise(name)
    if key in index:
        return index[key]
    for words in (_DOSE_FORM_WORDS, _DOSE_FORM_WORDS | _SALT_WORDS):
        stripped = _strip_words(key, words)
        canonical = resolve_drug(stripped) or index.get(stripped)
        if canonical is not None:
            return canonical
    return None


@lru_cache(maxsize=4096)
def medication_ingredients(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(known ingredients, unknown parts) of a medication name.

    A known name gives its ingredients (a combination product gives each one); an unknown name made of parts
    joined by "/", "+", "and", "with" or commas is split, so "lisinopril/hctz" and "oxycodone + unknownium" are
    screened by the parts that are known."""
    if not isinstance(name, str) or not name.strip():
        return (), ()
    canonical = resolve_medication(name)
    if canonical is not None:
        return _ingredients_of(canonical), ()
    parts = [part for part in _COMBINATION_SEPARATOR.split(name.strip()) if part.strip()]
    if len(parts) < 2:
        return (), (name.strip(),)
    known: list[str] = []
    unknown: list[str] = []
    for part in parts:
        part_canonical = resolve_medication(part)
        if part_canonical is None:
            unknown.append(part.strip())
        else:
            known.extend(i for i in _ingredients_of(part_canonical) if i not in known)
    return tuple(known), tuple(unknown)


def _ingredients_of(canonical: str) -> tuple[str, ...]:
    return tuple(drug_properties(canonical).get("ingredients", [canonical]))


def known_medications() -> list[str]:
    """Every canonical drug name the screens know (formulary and outside medications), sorted."""
    return sorted({entry.name for entry in formulary()} | set(_knowledge()["drugs"]))


def _first(values: list[str | None], order: tuple[str, ...]) -> str | None:
    present = [value for value in values if value]
    return min(present, key=order.index) if present else None


def _strongest(maps: list[dict[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for mapping in maps:
        for enzyme, strength in mapping.items():
            if enzyme not in merged or STRENGTH_ORDER.index(strength) < STRENGTH_ORDER.index(merged[enzyme]):
                merged[enzyme] = strength
    return merged


@lru_cache(maxsize=4096)
def classify_medication(name: str) -> MedicationProfile | None:
    """What the screens know about a medication named in any accepted way; None if it is not known.

    Combination products report the union of their ingredients' classes and the strongest of their properties."""
    canonical = resolve_medication(name)
    if canonical is None:
        return None
    ingredients = _ingredients_of(canonical)
    entries = [drug_properties(ingredient) for ingredient in ingredients]
    classes: list[str] = []
    for entry in [drug_properties(canonical), *entries]:
        classes.extend(c for c in entry.get("classes", []) if c not in classes)
    sources: list[str] = []
    for entry in [drug_properties(canonical), *entries]:
        for keys in entry.get("sources", {}).values():
            sources.extend(source_citation(k) for k in keys if source_citation(k) not in sources)
    in_formulary = resolve_drug(canonical) is not None
    formulary_rxnorm = formulary_entry(canonical).rxnorm if in_formulary else None
    return MedicationProfile(
        name=canonical,
        ingredients=ingredients,
        in_formulary=in_formulary,
        classes=tuple(classes),
        qt_risk=_first([e.get("qt_risk") for e in entries], QT_RISK_ORDER),
        serotonergic=_first([e.get("serotonergic") for e in entries], SEROTONERGIC_ORDER),
        maoi=_first([e.get("maoi") for e in entries], ("full", "partial")),
        cns_depressant=next((e["cns_depressant"] for e in entries if e.get("cns_depressant")), None),
        cyp_inhibitor=MappingProxyType(_strongest([e.get("cyp_inhibitor", {}) for e in entries])),
        cyp_inducer=MappingProxyType(_strongest([e.get("cyp_inducer", {}) for e in entries])),
        cyp_substrate_of=tuple(sorted({enzyme for e in entries for enzyme in e.get("cyp_substrate", {})})),
        rxnorm=formulary_rxnorm or drug_properties(canonical).get("rxnorm"),
        sources=tuple(sources),
    )


@lru_cache(maxsize=1024)
def drug_for_rxnorm(code: str) -> str | None:
    """The canonical drug for an RxNorm code: any code a formulary entry lists (ingredient or salt, so an old
    lithium carbonate code 42351 still maps to lithium) or an outside medication's ingredient code."""
    code = (code or "").strip()
    if not code:
        return None
    for name, raw in _raw_entries().items():
        if code == raw.get("rxnorm") or code in raw.get("rxnorm_all", []):
            return name
    for name, entry in _knowledge()["drugs"].items():
        if entry.get("rxnorm") == code:
            return name
    return None
