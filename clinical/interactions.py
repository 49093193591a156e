"""Drug-drug interactions, matched by drug and by class (including drugs outside the formulary)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import combinations
from typing import Any

from clinical._data import load
from clinical.formulary import _normalise, resolve_drug

SEVERITY_RANK = {"contraindicated": 0, "major": 1, "moderate": 2}


@dataclass(frozen=True)
class Interaction:
    drugs: tuple[str, str]
    severity: str
    advice: str
    effect: str | None
    source: tuple[str, ...]


@cache
def _groups() -> dict[str, frozenset[str]]:
    return {name: frozenset(members) for name, members in load("interactions")["groups"].items()}


def _members(side: list[str]) -> frozenset[str]:
    groups = _groups()
    names: set[str] = set()
    for item in side:
        names |= groups.get(item, frozenset({item}))
    return frozenset(names)


@cache
def _pairs() -> list[tuple[frozenset[str], frozenset[str], dict[str, Any], int]]:
    result = []
    for raw in load("interactions")["interactions"]:
        a, b = _members(raw["a"]), _members(raw["b"])
        result.append((a, b, raw, len(a) + len(b)))
    return result


def known_interacting_names() -> frozenset[str]:
    """Every drug name the checker knows (formulary drugs and the non-formulary drugs in its classes)."""
    names: set[str] = set()
    for a, b, _, _ in _pairs():
        names |= a | b
    return frozenset(names)


def _key(name: str) -> str:
    return resolve_drug(name) or _normalise(name)


def check_interactions(drugs: list[str]) -> list[Interaction]:
    """Every interacting pair among ``drugs`` (names as given), most severe first.

    A pair matched by several rules keeps the most severe, then the most specific (smallest classes).
    """
    given = []
    seen: set[str] = set()
    for name in drugs:
        if isinstance(name, str) and name.strip() and _key(name) not in seen:
            seen.add(_key(name))
            given.append(name)
    found: list[tuple[int, int, Interaction]] = []
    for first, second in combinations(given, 2):
        k1, k2 = _key(first), _key(second)
        best: tuple[int, int, dict[str, Any]] | None = None
        for a, b, raw, size in _pairs():
            if (k1 in a and k2 in b) or (k1 in b and k2 in a):
                candidate = (SEVERITY_RANK[raw["severity"]], size, raw)
                if best is None or candidate[:2] < best[:2]:
                    best = candidate
        if best is not None:
            raw = best[2]
            found.append(
                (
                    best[0],
                    best[1],
                    Interaction(
                        (first, second),
                        raw["severity"],
                        raw["advice"],
                        raw.get("effect"),
                        tuple(raw.get("sources", [])),
                    ),
                )
            )
    found.sort(key=lambda item: (item[0], item[1]))
    return [interaction for _, _, interaction in found]
