"""The seed's window onto ``clinical``: formulary look-ups, score patterns and cached rule calls.

Everything clinical (severity bands, flag rules, monitoring schedules, reference ranges, dose maxima) comes
from the ``clinical`` package so generated charts agree with what the app computes. The caches matter for
speed: a 10,000-patient seed scores a few hundred thousand questionnaires but only a few thousand distinct
answer patterns.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import clinical
from seed.bulk import EncodedJSON

# How many distinct answer vectors exist per (instrument, total); enough variety for charts and item views.
PATTERNS_PER_TOTAL = 24
INSTRUMENT_ITEMS: dict[str, int] = {"PHQ-9": 9, "GAD-7": 7}
SELF_HARM_ITEM_INDEX = 8  # PHQ-9 item 9 ("thoughts that you would be better off dead...")
# Item weights shape realistic answer profiles: sleep, energy and mood items run higher than psychomotor ones.
ITEM_WEIGHTS: dict[str, tuple[float, ...]] = {
    "PHQ-9": (1.2, 1.3, 1.3, 1.4, 0.9, 1.0, 1.0, 0.6, 0.0),
    "GAD-7": (1.3, 1.1, 1.3, 1.0, 0.8, 1.0, 0.9),
}


@dataclass(frozen=True)
class ScorePattern:
    """One concrete set of item answers with its score, computed once by ``clinical.score_instrument``."""

    key: int
    answers: tuple[int, ...]
    score: Any  # clinical.InstrumentScore
    answers_json: EncodedJSON  # serialized once, shared by every assessment with these answers


def _distribute(rng: random.Random, total: int, weights: Sequence[float]) -> list[int]:
    """Answers (0-3 each) summing to ``total``, drawn proportionally to ``weights``."""
    answers = [0] * len(weights)
    open_items = [i for i, w in enumerate(weights) if w > 0]
    remaining = total
    while remaining > 0 and open_items:
        item = rng.choices(open_items, weights=[weights[i] for i in open_items])[0]
        answers[item] += 1
        remaining -= 1
        if answers[item] == 3:
            open_items.remove(item)
    return answers


class ScoreBook:
    """Pre-scored answer patterns per instrument and total, plus cached ``flags_for_score`` results."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"score-patterns:{seed}")
        self._patterns: dict[tuple[str, int, int], list[ScorePattern]] = {}
        self._by_key: list[ScorePattern] = []
        self._flag_cache: dict[tuple[int, int | None], list[Any]] = {}
        for instrument, items in INSTRUMENT_ITEMS.items():
            weights = ITEM_WEIGHTS[instrument]
            scored_max = 3 * sum(1 for w in weights if w > 0)
            for total in range(scored_max + 1):
                self._add(rng, instrument, total, 0, weights)
            if instrument == "PHQ-9":
                # Patterns with a positive item 9 (value 1-3) for the self-harm storyline.
                for item9 in (1, 2, 3):
                    for rest in range(3 * (items - 1) + 1):
                        self._add(rng, instrument, rest + item9, item9, weights, rest_total=rest)
        self._highest_without_item9 = {
            name: 3 * sum(1 for weight in ITEM_WEIGHTS[name] if weight > 0) for name in INSTRUMENT_ITEMS
        }

    def _add(self, rng: random.Random, instrument: str, total: int, item9: int, weights: Sequence[float],
             rest_total: int | None = None) -> None:
        bucket: list[ScorePattern] = []
        seen: set[tuple[int, ...]] = set()
        for _ in range(PATTERNS_PER_TOTAL * 3):
            answers = _distribute(rng, total if rest_total is None else rest_total, weights)
            if item9:
                answers[SELF_HARM_ITEM_INDEX] = item9
            key = tuple(answers)
            if key in seen:
                continue
            seen.add(key)
            pattern = ScorePattern(len(self._by_key), key, clinical.score_instrument(instrument, list(key)),
                                   EncodedJSON(json.dumps(list(key))))
            self._by_key.append(pattern)
            bucket.append(pattern)
            if len(bucket) == PATTERNS_PER_TOTAL:
                break
        self._patterns[(instrument, total, item9)] = bucket

    def pick(self, rng: random.Random, instrument: str, total: int, self_harm_item: int = 0) -> ScorePattern:
        """A pattern with this total; ``self_harm_item`` > 0 gives PHQ-9 item 9 that value."""
        # Without a positive item 9 the PHQ-9 tops out at 24 (eight items of 3); item 9 adds its own value.
        highest = self._highest_without_item9[instrument] + self_harm_item
        total = min(max(total, self_harm_item, 0), highest)
        bucket = self._patterns[(instrument, total, self_harm_item)]
        return bucket[int(rng.random() * len(bucket))]

    def flags(self, pattern: ScorePattern, previous_total: int | None) -> list[Any]:
        cache_key = (pattern.key, previous_total)
        found = self._flag_cache.get(cache_key)
        if found is None:
            found = list(clinical.flags_for_score(pattern.score, previous_total))
            self._flag_cache[cache_key] = found
        return found


class Formulary:
    """Formulary entries by lower-case name and alias, with each drug's usable dose ladder."""

    def __init__(self) -> None:
        self.entries: list[Any] = list(clinical.formulary())
        self._by_name: dict[str, Any] = {}
        for entry in self.entries:
            for name in (entry.name, *getattr(entry, "aliases", ())):
                self._by_name.setdefault(str(name).lower(), entry)
        self._ladders: dict[str, tuple[float, ...]] = {}
        self._unknown: set[str] = set()

    def get(self, name: str) -> Any | None:
        """The entry for a catalog name, alias or anything ``clinical.resolve_drug`` recognizes."""
        entry = self._by_name.get(name.lower())
        if entry is None and name.lower() not in self._unknown:
            # Let the rules engine's own name resolution (brand names, salts, spellings) have a go.
            canonical = clinical.resolve_drug(name)
            entry = self._by_name.get(canonical.lower()) if canonical else None
            if entry is None:
                self._unknown.add(name.lower())
            else:
                self._by_name[name.lower()] = entry
        return entry

    def ladder(self, entry: Any) -> tuple[float, ...]:
        """Daily doses a titration may step through: the formulary's common doses up to the maximum."""
        ladder = self._ladders.get(entry.name)
        if ladder is None:
            # Drugs dosed by level (lithium, valproate) have no fixed maximum: the common doses are the ladder.
            ceiling = float(entry.max_daily_mg) if entry.max_daily_mg is not None else float("inf")
            steps = sorted({float(d) for d in entry.common_daily_doses_mg if float(d) <= ceiling})
            if not steps and entry.usual_start_daily_mg is not None:
                steps = [float(entry.usual_start_daily_mg)]
            ladder = tuple(steps)
            self._ladders[entry.name] = ladder
        return ladder


class LabCatalog:
    """Lab tests by name (case-insensitive), as ``clinical.lab_tests()`` defines them."""

    def __init__(self) -> None:
        self._by_name = {test.name.lower(): test for test in clinical.lab_tests()}

    def get(self, name: str) -> Any | None:
        return self._by_name.get(name.lower())


class CachedRules:
    """Memoized wrappers around pure ``clinical`` functions whose inputs repeat across patients."""

    # Weeks on treatment probed to learn whether a drug has any maintenance monitoring at all.
    MAINTENANCE_PROBE_WEEKS = range(0, 157)

    def __init__(self) -> None:
        self._daily: dict[tuple[float, str, str], float] = {}
        self._schedule: dict[str, str | None] = {}
        self._side_effect: dict[tuple[str, str, str], Any] = {}
        self._dose_ok: dict[tuple[str, float, int, str, str], bool] = {}
        self._has_maintenance: dict[str, bool] = {}
        self._missed: dict[int, Any] = {}
        self._contraindicated: dict[frozenset[str], bool] = {}
        self._allergic: dict[tuple[str, frozenset[str]], bool] = {}
        self._frequencies = tuple(getattr(clinical, "FREQUENCIES", ()))
        self._dose_units = tuple(getattr(clinical, "DOSE_UNITS", ()))

    def allowed_frequency(self, preferred: str, times_per_day: int) -> str:
        """``preferred`` if the rules engine accepts it, else the plain "N times daily" wording it knows."""
        if not self._frequencies or preferred in self._frequencies:
            return preferred
        for fallback in {1: ("once daily", "daily"), 2: ("twice daily",), 3: ("three times daily",)}.get(
            times_per_day, ()
        ):
            if fallback in self._frequencies:
                return fallback
        return self._frequencies[0]

    def allowed_dose_unit(self, dose: float, unit: str) -> tuple[float, str]:
        """Convert micrograms to milligrams if the rules engine only knows milligrams."""
        if not self._dose_units or unit in self._dose_units:
            return dose, unit
        if unit == "mcg" and "mg" in self._dose_units:
            return dose / 1000.0, "mg"
        return dose, unit

    def daily_dose_mg(self, dose: float, unit: str, frequency: str, times_per_day: int) -> float:
        key = (dose, unit, frequency)
        value = self._daily.get(key)
        if value is None:
            try:
                value = float(clinical.daily_dose_mg(dose, unit, frequency))
            except (ValueError, KeyError):
                # A frequency the rules do not parse (none of ours should be): fall back to simple arithmetic.
                value = dose * times_per_day / (1000.0 if unit == "mcg" else 1.0)
            self._daily[key] = value
        return value

    def dose_ok(self, drug: str, daily_mg: float, age: int, formulation: str, indication: str) -> bool:
        """Whether ``clinical.check_dose`` accepts this daily dose for this patient, as the app will ask."""
        key = (drug, daily_mg, age, formulation, indication)
        verdict = self._dose_ok.get(key)
        if verdict is None:
            check = clinical.check_dose(drug, daily_mg, age=age, formulation=formulation, indication=indication)
            verdict = self._dose_ok[key] = check.status == "ok"
        return verdict

    def schedule(self, drug: str) -> str | None:
        if drug not in self._schedule:
            try:
                self._schedule[drug] = clinical.drug_schedule(drug)
            except (ValueError, KeyError):
                self._schedule[drug] = None
        return self._schedule[drug]

    def side_effect_flag(self, drug: str, symptom: str, severity: str) -> Any | None:
        key = (drug, symptom, severity)
        if key not in self._side_effect:
            self._side_effect[key] = clinical.flag_for_side_effect(drug, symptom, severity)
        return self._side_effect[key]

    def contraindicated(self, drug: str, other: str) -> bool:
        """Whether the interaction checker calls this pair contraindicated."""
        pair = frozenset((drug, other))
        known = self._contraindicated.get(pair)
        if known is None:
            known = any(i.severity == "contraindicated" for i in clinical.check_interactions([drug, other]))
            self._contraindicated[pair] = known
        return known

    def allergic(self, drug: str, allergies: set[str]) -> bool:
        """Whether a recorded allergy matches the drug (including cross-sensitivity), as the app checks."""
        if not allergies:
            return False
        key = (drug, frozenset(allergies))
        known = self._allergic.get(key)
        if known is None:
            known = self._allergic[key] = bool(clinical.allergy_matches(drug, sorted(allergies)))
        return known

    def missed_doses_flag(self, missed_doses: int) -> Any | None:
        if missed_doses not in self._missed:
            self._missed[missed_doses] = clinical.flag_for_missed_doses(missed_doses)
        return self._missed[missed_doses]

    def monitoring_labs(self, drug: str, event: str, on: date, weeks_on_treatment: int | None,
                        ancestry: str | None, *, sex: str | None = None, age: int | None = None,
                        pregnant: bool | None = None) -> list[Any]:
        if event == "maintenance" and not self.has_maintenance_labs(drug, on):
            return []
        return list(clinical.monitoring_labs(drug, event, on=on, weeks_on_treatment=weeks_on_treatment,
                                             ancestry=ancestry, sex=sex, age=age, pregnant=pregnant))

    def has_maintenance_labs(self, drug: str, on: date) -> bool:
        """Whether any week on treatment brings maintenance labs for ``drug`` (probed once per drug).

        Most psychiatric drugs need none; skipping them saves a rules call per visit per medicine.
        """
        known = self._has_maintenance.get(drug)
        if known is None:
            known = any(
                clinical.monitoring_labs(drug, "maintenance", on=on, weeks_on_treatment=weeks, ancestry=ancestry)
                for weeks in self.MAINTENANCE_PROBE_WEEKS
                for ancestry in (None, "East Asian")
            )
            self._has_maintenance[drug] = known
        return known


def severity_rank(severity: str) -> int:
    return clinical.SEVERITY_ORDER.index(severity)
