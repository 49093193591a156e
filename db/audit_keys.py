"""The audit log's HMAC keys, kept outside the database so that someone who can rewrite the database cannot
re-seal what they rewrote.

The current key comes from the environment variable ``AUDIT_HMAC_KEY`` or, failing that, from
``.streamlit/secrets.toml``::

    [audit]
    hmac_key = "..."                 # 32+ random characters (scripts/run_app.py generates one)
    previous_keys = ["..."]          # keys rotated out: still accepted to verify the rows they sealed

(``AUDIT_HMAC_PREVIOUS_KEYS``, comma-separated, overrides ``previous_keys``.) Each sealed row and checkpoint names
its key by a short id derived from the key, so after a rotation old rows verify with the old key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import tomllib
from dataclasses import dataclass
from functools import cache

from db.settings import PROJECT_ROOT

SECRETS_PATH = PROJECT_ROOT / ".streamlit" / "secrets.toml"
MIN_KEY_LENGTH = 32


class AuditKeyMissing(RuntimeError):
    """No usable audit key is configured: nothing may be written to the audit log without one."""


def key_id(key: bytes) -> str:
    """A short public name for a key (never the key itself): the first 8 hex digits of a hash of it."""
    return hashlib.sha256(b"iop-audit-key-id:" + key).hexdigest()[:8]


def mac_hex(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class AuditKeys:
    current: bytes
    by_id: dict[str, bytes]

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    def seal(self, message: str) -> str:
        """``<key id>:<HMAC>`` of ``message`` under the current key."""
        return f"{self.current_id}:{mac_hex(self.current, message)}"

    def check(self, message: str, sealed: str) -> bool:
        """True if ``sealed`` is a MAC of ``message`` under a known key (constant-time comparison)."""
        kid, _, digest = sealed.partition(":")
        key = self.by_id.get(kid)
        return key is not None and hmac.compare_digest(mac_hex(key, message), digest)


def _secrets_file() -> dict:
    try:
        return tomllib.loads(SECRETS_PATH.read_text()).get("audit", {})
    except (OSError, tomllib.TOMLDecodeError):
        return {}


@cache
def _load(current: str | None, previous: str | None) -> AuditKeys:
    configured = _secrets_file() if current is None else {}
    current = current if current is not None else configured.get("hmac_key")
    if previous is None:
        previous_keys = [str(key) for key in configured.get("previous_keys", [])]
    else:
        previous_keys = [key.strip() for key in previous.split(",") if key.strip()]
    if not current or len(str(current)) < MIN_KEY_LENGTH:
        raise AuditKeyMissing(
            f"no audit HMAC key of {MIN_KEY_LENGTH}+ characters: set AUDIT_HMAC_KEY or [audit] hmac_key in "
            '.streamlit/secrets.toml (python -c "import secrets; print(secrets.token_urlsafe(48))"); keep it '
            "outside the database and its backups"
        )
    keys = [str(current).encode(), *(key.encode() for key in previous_keys)]
    return AuditKeys(current=keys[0], by_id={key_id(key): key for key in keys})


def audit_keys() -> AuditKeys:
    """The configured keys (raises AuditKeyMissing if there is no current key)."""
    return _load(os.environ.get("AUDIT_HMAC_KEY") or None, os.environ.get("AUDIT_HMAC_PREVIOUS_KEYS"))


def audit_key_problem() -> str | None:
    """Why the audit log cannot be sealed here (for the app's start-up check), or None when a key is configured."""
    try:
        audit_keys()
    except AuditKeyMissing as error:
        return str(error)
    return None
