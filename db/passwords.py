"""The password policy, after NIST SP 800-63B section 3.1.1.2 (memorized secrets).

What it asks: at least 12 characters (NIST's floor is 8 when a password is the only factor, 15 for single-factor
use in the 2024 revision; 12 is kept as the program's minimum because MFA is required for prescribers and
administrators), at most 128 (NIST: allow at least 64), any printable characters and spaces (passphrases welcome),
and no composition rules (no "one digit and one symbol"). What it refuses, as NIST asks, is a password that is
commonly used or easy to guess: one on the shipped blocklist (db/data/common_passwords.txt, with its source), a
blocklisted word with digits or symbols only added around it (``password1234``, ``Iloveyou2026!``), one
character or a short block repeated (``aaaaaaaaaaaa``, ``abcabcabcabc``), a keyboard or counting run
(``123456789012``, ``qwertyuiopas``), and anything that contains the user name.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
BLOCKLIST_PATH = Path(__file__).resolve().parent / "data" / "common_passwords.txt"
# Rows of a US keyboard and counting sequences: a password that is a run along one of them is guessed early.
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890123456789",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
)
_DECORATION = re.compile(r"^[\W\d_]*(.*?)[\W\d_]*$")


@cache
def common_passwords() -> frozenset[str]:
    lines = BLOCKLIST_PATH.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _is_repetition(text: str) -> bool:
    """One character or a block of up to 4 characters repeated to the end (``aaaa…``, ``abab…``, ``12341234…``)."""
    for size in range(1, 5):
        unit = text[:size]
        if len(text) >= 2 * size and (unit * (len(text) // size + 1))[: len(text)] == text:
            return True
    return False


def _is_sequence(text: str) -> bool:
    """A run along the alphabet, the digits or a keyboard row, forwards or backwards."""
    return any(text in sequence or text in sequence[::-1] for sequence in _SEQUENCES)


def password_problem(password: str, *, username: str | None = None) -> str | None:
    """Why ``password`` is refused, in words for the form, or None if it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"at most {MAX_PASSWORD_LENGTH} characters"
    lowered = password.lower()
    compact = re.sub(r"\s+", "", lowered)
    name = (username or "").strip().lower()
    if len(name) >= 3 and (name in lowered or name in compact):
        return "must not contain your user name"
    core_match = _DECORATION.match(compact)
    core = core_match.group(1) if core_match else compact
    blocklist = common_passwords()
    if lowered in blocklist or compact in blocklist or (core and core in blocklist):
        return "is a commonly used password (it appears on lists attackers try first); choose another"
    if _is_repetition(compact) or _is_sequence(compact):
        return "is a repeated or sequential pattern that is easy to guess; choose another"
    if len(set(compact)) <= 3:
        return "uses too few different characters to be hard to guess; choose another"
    return None
