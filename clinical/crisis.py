"""The crisis line a patient is shown when a self-report says they think of harming themselves."""

from __future__ import annotations

from dataclasses import dataclass

from clinical._data import load


@dataclass(frozen=True)
class CrisisLine:
    name: str
    call_or_text: str
    chat: str
    emergency: str
    text: str  # what the patient reads, complete in itself
    source: str


def crisis_line(region: str = "us") -> CrisisLine:
    """The crisis line for ``region`` (the program serves US states: the 988 Suicide & Crisis Lifeline)."""
    entry = load("crisis_lines")[region]
    return CrisisLine(
        name=entry["name"],
        call_or_text=entry["call_or_text"],
        chat=entry["chat"],
        emergency=entry["emergency"],
        text=entry["text"],
        source=entry["source"],
    )
