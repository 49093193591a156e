"""Write commands. Each one: checks the actor's permission for the patient, validates with ``clinical``,
writes in one transaction and records the audit event in that same transaction. Bad input raises
``InvalidInput`` and writes nothing; an edit that lost a race raises ``EditConflict``.
"""

from __future__ import annotations

from datetime import datetime


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


class AlreadySubmitted(EditConflict):
    """This form submission was saved before (a second click or a replayed request); nothing was written again."""

    def __init__(self, submitted_at: datetime | None, outcome: str | None) -> None:
        self.submitted_at = submitted_at
        self.outcome = outcome
        when = f" at {submitted_at:%H:%M:%S} UTC" if submitted_at else ""
        super().__init__(f"This form was already saved{when}; nothing was saved twice. {outcome or ''}".strip())
