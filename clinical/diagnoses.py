"""Diagnosis reference data: the ICD-10-CM codes the program records, with their titles and sources."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from clinical._data import load


@dataclass(frozen=True)
class DiagnosisInfo:
    code: str  # ICD-10-CM, with the dot (F33.1)
    display: str
    condition: str  # treatment group (depression, anxiety, alcohol ...)
    source: str
    verification: str


@cache
def _by_code() -> dict[str, DiagnosisInfo]:
    return {
        raw["code"]: DiagnosisInfo(raw["code"], raw["display"], raw["condition"], raw["source"], raw["verification"])
        for raw in load("diagnoses")["diagnoses"]
    }


def diagnoses() -> list[DiagnosisInfo]:
    """Every diagnosis in the reference data, in file order."""
    return list(_by_code().values())


def diagnosis(code: str) -> DiagnosisInfo | None:
    """The reference entry for an ICD-10-CM code (case and surrounding spaces ignored); None if not listed."""
    if not isinstance(code, str):
        return None
    return _by_code().get(code.strip().upper())


__all__ = ["DiagnosisInfo", "diagnoses", "diagnosis"]
