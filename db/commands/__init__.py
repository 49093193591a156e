"""Write commands. Each one: checks the actor's permission for the patient, validates with ``clinical``,
writes in one transaction and records the audit event in that same transaction. Bad input raises
``InvalidInput`` and writes nothing; an edit that lost a race raises ``EditConflict``.
"""

from __future__ import annotations


class InvalidInput(ValueError):
    """The input is wrong; ``errors`` maps each field to a message naming the field and the limit."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.errors.items()))


class EditConflict(Exception):
    """Someone else changed the record since the form was opened; nothing was written."""


class SafetyBlock(Exception):
    """A safety rule forbids the change (for example a dose above the maximum); nothing was written."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = list(reasons)
        super().__init__(" ".join(reasons))
