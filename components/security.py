"""Deployment checks the app makes before it serves anyone: strong secrets, XSRF protection on, error details
hidden. Every refusal is shown as the same friendly "not safe to start" page, never as a raw error."""

from __future__ import annotations

import itertools
import math
import os
from collections import Counter
from collections.abc import Mapping
from typing import Any

from streamlit import config as st_config

# Words of example files (a placeholder like "xxxxxxxx" is caught as a pattern); long enough that a random
# key contains one by chance far less than once in a million.
EXAMPLE_MARKERS = ("change-me", "changeme", "example", "replace", "some_key", "secret", "password")
MIN_SECRET_LENGTH = 32
MIN_DISTINCT_CHARACTERS = 8
REPEATED_PIECE = 8  # a random key of 64 characters repeats a piece this long about once in 10^9
# A random 32-character hex key (128 bits) scores 95-120 here; a typed phrase or a pattern far less.
MIN_ESTIMATED_BITS = 90
# Set to 1 only on a developer's machine: allows client.showErrorDetails other than "none".
DEV_MODE_ENV = "IOP_DEV_MODE"
HIDDEN_ERROR_DETAILS = ("none", "false")


def estimated_entropy_bits(value: str) -> float:
    """A generous estimate of a secret's randomness: its length times the Shannon entropy of its characters.

    It cannot prove a key random, but it does catch what people type: one character repeated, few distinct
    characters, a short pattern repeated."""
    if not value:
        return 0.0
    counts = Counter(value)
    per_character = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return per_character * len(value)


def _repeats_a_pattern(value: str) -> bool:
    """True for a piece repeated ("Tr0ub4dor&3Tr0ub4dor&3…"), or many neighbours equal or consecutive
    ("aaaabbbb…", "abcd…").

    In a random key over 16 or more symbols about a sixth of neighbours are; half is far out of reach."""
    pieces = [value[start : start + REPEATED_PIECE] for start in range(len(value) - REPEATED_PIECE + 1)]
    if len(set(pieces)) < len(pieces):
        return True
    steps = [ord(b) - ord(a) for a, b in itertools.pairwise(value)]
    return bool(steps) and sum(1 for step in steps if abs(step) <= 1) > len(steps) // 2


def secret_weakness(value: str) -> str | None:
    """Why ``value`` is not a strong secret, or None if it looks like a random key."""
    lowered = value.lower()
    if len(value) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    if any(marker in lowered for marker in EXAMPLE_MARKERS):
        return "is an example value"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS or _repeats_a_pattern(value):
        return "is a pattern, not a random key"
    if estimated_entropy_bits(value) < MIN_ESTIMATED_BITS:
        return "is not random enough"
    return None


def error_details_problem(dev_mode: bool | None = None) -> str | None:
    """Streamlit shows tracebacks to users unless client.showErrorDetails is "none"; only a developer may."""
    if dev_mode is None:
        dev_mode = os.environ.get(DEV_MODE_ENV) == "1"
    shown = str(st_config.get_option("client.showErrorDetails")).strip().lower()
    if shown in HIDDEN_ERROR_DETAILS or dev_mode:
        return None
    return (
        f'Error details are shown to users (client.showErrorDetails = "{shown}"): set it to "none" in '
        f".streamlit/config.toml (or {DEV_MODE_ENV}=1 on a developer's machine only)."
    )


def read_secrets(secrets: Any) -> tuple[dict[str, Any], str | None]:
    """``st.secrets`` as a dict, or an empty dict and the reason it could not be read (missing or malformed
    file), so a missing secrets file is reported on the check page instead of as a raw error."""
    try:
        return (secrets.to_dict() if hasattr(secrets, "to_dict") else dict(secrets)), None
    except FileNotFoundError:  # Streamlit's StreamlitSecretNotFoundError: no file, or one it cannot parse
        return {}, "The secrets file (.streamlit/secrets.toml) is missing or cannot be read."


def deployment_problems(secrets: Mapping[str, object], *, dev_mode: bool | None = None) -> list[str]:
    """Everything that makes this deployment unsafe to serve; an empty list means it may start."""
    problems: list[str] = []
    auth = secrets.get("auth") if isinstance(secrets.get("auth"), Mapping) else None
    cookie_key = str(auth.get("cookie_key", "")) if auth else ""  # type: ignore[union-attr]
    if not cookie_key:
        problems.append("The login cookie key (auth.cookie_key in .streamlit/secrets.toml) is missing.")
    elif weakness := secret_weakness(cookie_key):
        problems.append(
            f"The login cookie key {weakness}: generate a random key of 32+ characters "
            '(python -c "import secrets; print(secrets.token_urlsafe(48))").'
        )
    cookie_secret = str(st_config.get_option("server.cookieSecret") or "")
    if not st_config.is_manually_set("server.cookieSecret"):
        problems.append("Streamlit's cookie secret (server.cookieSecret / STREAMLIT_SERVER_COOKIE_SECRET) is not set.")
    elif weakness := secret_weakness(cookie_secret):
        problems.append(f"Streamlit's cookie secret {weakness}: generate a random one.")
    if not st_config.get_option("server.enableXsrfProtection"):
        problems.append("XSRF protection (server.enableXsrfProtection) is turned off.")
    if problem := error_details_problem(dev_mode):
        problems.append(problem)
    return problems
