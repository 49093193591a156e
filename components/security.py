"""Deployment checks the app makes before it serves anyone: real secrets, XSRF protection on."""

from __future__ import annotations

from collections.abc import Mapping

from streamlit import config as st_config

EXAMPLE_MARKERS = ("change-me", "example", "replace", "xxxx", "some_key", "secret")
MIN_SECRET_LENGTH = 32


def _looks_like_placeholder(value: str) -> bool:
    lowered = value.lower()
    return len(value) < MIN_SECRET_LENGTH or any(marker in lowered for marker in EXAMPLE_MARKERS)


def deployment_problems(secrets: Mapping[str, object]) -> list[str]:
    """Everything that makes this deployment unsafe to serve; an empty list means it may start."""
    problems: list[str] = []
    auth = secrets.get("auth") if isinstance(secrets.get("auth"), Mapping) else None
    cookie_key = str(auth.get("cookie_key", "")) if auth else ""
    if not cookie_key:
        problems.append("The login cookie key (auth.cookie_key in .streamlit/secrets.toml) is missing.")
    elif _looks_like_placeholder(cookie_key):
        problems.append("The login cookie key is an example or too short: generate a random key of 32+ characters.")
    cookie_secret = str(st_config.get_option("server.cookieSecret") or "")
    if not st_config.is_manually_set("server.cookieSecret"):
        problems.append("Streamlit's cookie secret (server.cookieSecret / STREAMLIT_SERVER_COOKIE_SECRET) is not set.")
    elif _looks_like_placeholder(cookie_secret):
        problems.append("Streamlit's cookie secret is an example or too short: generate a random one.")
    if not st_config.get_option("server.enableXsrfProtection"):
        problems.append("XSRF protection (server.enableXsrfProtection) is turned off.")
    return problems
