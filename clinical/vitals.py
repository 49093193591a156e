"""Vital signs the monitoring rules ask for (weight, BMI, blood pressure, waist, heart rate) and the BMI."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType

from clinical._data import load


@dataclass(frozen=True)
class VitalSign:
    name: str
    loinc: str
    unit: str  # UCUM code
    source: str
    # Component codes of a panel measured as one item (blood pressure: systolic and diastolic).
    components: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@cache
def _vitals() -> dict[str, VitalSign]:
    return {
        raw["name"]: VitalSign(
            raw["name"], raw["loinc"], raw["unit"], raw["source"], MappingProxyType(dict(raw.get("components", {})))
        )
        for raw in load("vitals")["vitals"]
    }


def vital_signs() -> list[VitalSign]:
    """The vital-sign catalogue: LOINC code and UCUM unit of each measurement."""
    return list(_vitals().values())


def vital_sign(name: str) -> VitalSign | None:
    """A vital sign by name (case-insensitive), or None."""
    lowered = name.strip().lower() if isinstance(name, str) else ""
    return next((vital for vital in _vitals().values() if vital.name.lower() == lowered), None)


def _positive(value: float, what: str, plausible: list[float]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be a number, got {value!r}")
    low, high = plausible
    if not low <= value <= high:
        raise ValueError(f"{what} must be between {low:g} and {high:g}, got {value!r}")
    return float(value)


def bmi(weight_kg: float, height_cm: float) -> float:
    """Body mass index (kg/m2, one decimal) from weight in kilograms and height in centimetres.

    ValueError for values that are not numbers or are implausible (a height typed in metres, a weight of 0)."""
    limits = load("vitals")["bmi"]
    weight = _positive(weight_kg, "weight (kg)", limits["plausible_weight_kg"])
    height_m = _positive(height_cm, "height (cm)", limits["plausible_height_cm"]) / 100
    return round(weight / (height_m * height_m), 1)
