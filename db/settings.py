"""Deployment and program settings, read once from the environment.

Everything here can be overridden with an environment variable of the same name in upper case
(for example ``IDLE_TIMEOUT_MINUTES=30``), so that an operator changes policy without code.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "data" / "iop.db"

# Response-time targets per flag severity, in minutes (urgent 1 h, high same day = 8 h, moderate 3 days).
DEFAULT_FLAG_TARGET_MINUTES: dict[str, int] = {
    "urgent": 60,
    "high": 8 * 60,
    "moderate": 3 * 24 * 60,
    "low": 7 * 24 * 60,
}
# How often each measure is due, in days, by program phase.
DEFAULT_MEASURE_CADENCE_DAYS: dict[str, dict[str, int]] = {
    "intake": {"PHQ-9": 7, "GAD-7": 7},
    "intensive": {"PHQ-9": 7, "GAD-7": 7},
    "step-down": {"PHQ-9": 14, "GAD-7": 14},
    "maintenance": {"PHQ-9": 28, "GAD-7": 28},
}


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _env_switch(name: str, default: bool) -> bool:
    """An on/off setting: ``on``/``off`` (also true/false, 1/0, yes/no); anything else is refused at start."""
    raw = (os.environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("on", "true", "1", "yes"):
        return True
    if raw in ("off", "false", "0", "no"):
        return False
    raise ValueError(f"{name} must be 'on' or 'off', not {raw!r}")


def _env_url(name: str) -> str:
    """An absolute http(s) URL, or empty when unset; anything else is refused at start."""
    raw = (os.environ.get(name) or "").strip()
    if raw and not raw.lower().startswith(("https://", "http://")):
        raise ValueError(f"{name} must be an absolute http(s) URL, not {raw!r}")
    return raw


def _env_json(name: str, default: dict) -> dict:
    raw = os.environ.get(name)
    return json.loads(raw) if raw else default


@dataclass(frozen=True)
class Settings:
    database_url: str
    program_timezone: str = "America/New_York"
    idle_timeout_minutes: int = 15
    session_lifetime_hours: int = 12
    lockout_threshold: int = 5
    lockout_window_minutes: int = 15
    login_delay_cap_seconds: int = 300
    address_failure_threshold: int = 30
    trusted_proxy_hops: int = 0
    overdue_lab_grace_days: int = 7
    sweep_interval_minutes: int = 15  # each app server raises overdue-lab flags in the background; 0 = off (cron)
    # each app server links new audit rows into the hash chain this often (db.audit_seal); 0 = off (cron)
    audit_seal_interval_seconds: float = 2.0
    # each app server recomputes the overview's default figures this often (db.program_snapshot); 0 = off (cron)
    overview_refresh_seconds: int = 60
    # the overview shows a snapshot this old at most; older (or from another day) it computes its figures live
    overview_snapshot_max_age_seconds: int = 180
    break_glass_minutes: int = 60
    # An account an admin created (or reset the password or authenticator of) waits for a second person. Off only for a
    # one-person demo (ACCOUNT_APPROVAL=off), where no second administrator or supervisor exists.
    account_approval: bool = True
    # Prescribers and administrators must enrol TOTP before they see anything. Off only for the demo (MFA_REQUIRED=off);
    # an enrolled user is asked for a code at login, and before a controlled-substance prescription, either way.
    mfa_required: bool = True
    break_glass_max_per_day: int = 3  # emergency-access attempts per user in any 24 hours
    triage_refresh_seconds: int = 15
    # Where patients reach this app: the start of every check-in link (the proxy's public https address).
    public_base_url: str = "http://localhost:8501"
    checkin_link_hours: int = 72  # how long a patient check-in link works unless the sender chooses otherwise
    # Where a bulk export's files will be served from: the manifest's absolute URLs start with it. Empty: the
    # file:// URL of the export directory (python -m db.fhir export --base-url overrides it per export).
    fhir_export_base_url: str = ""
    flag_target_minutes: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_FLAG_TARGET_MINUTES))
    measure_cadence_days: dict[str, dict[str, int]] = field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_MEASURE_CADENCE_DAYS.items()}
    )

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.program_timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def default_database_url() -> str:
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


@cache
def get_settings() -> Settings:
    """The settings of this process; tests call ``get_settings.cache_clear()`` after changing the environment."""
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or default_database_url(),
        program_timezone=os.environ.get("PROGRAM_TIMEZONE", "America/New_York"),
        idle_timeout_minutes=_env_int("IDLE_TIMEOUT_MINUTES", 15),
        session_lifetime_hours=_env_int("SESSION_LIFETIME_HOURS", 12),
        lockout_threshold=_env_int("LOCKOUT_THRESHOLD", 5),
        lockout_window_minutes=_env_int("LOCKOUT_WINDOW_MINUTES", 15),
        login_delay_cap_seconds=_env_int("LOGIN_DELAY_CAP_SECONDS", 300),
        address_failure_threshold=_env_int("ADDRESS_FAILURE_THRESHOLD", 30),
        trusted_proxy_hops=_env_int("TRUSTED_PROXY_HOPS", 0),
        overdue_lab_grace_days=_env_int("OVERDUE_LAB_GRACE_DAYS", 7),
        sweep_interval_minutes=max(0, _env_int("SWEEP_INTERVAL_MINUTES", 15)),
        audit_seal_interval_seconds=max(0, _env_int("AUDIT_SEAL_INTERVAL_SECONDS", 2)),
        overview_refresh_seconds=max(0, _env_int("OVERVIEW_REFRESH_SECONDS", 60)),
        overview_snapshot_max_age_seconds=max(0, _env_int("OVERVIEW_SNAPSHOT_MAX_AGE_SECONDS", 180)),
        break_glass_minutes=_env_int("BREAK_GLASS_MINUTES", 60),
        account_approval=_env_switch("ACCOUNT_APPROVAL", True),
        mfa_required=_env_switch("MFA_REQUIRED", True),
        break_glass_max_per_day=_env_int("BREAK_GLASS_MAX_PER_DAY", 3),
        triage_refresh_seconds=max(1, _env_int("TRIAGE_REFRESH_SECONDS", 15)),
        public_base_url=(os.environ.get("PUBLIC_BASE_URL") or "http://localhost:8501").rstrip("/"),
        checkin_link_hours=_env_int("CHECKIN_LINK_HOURS", 72),
        fhir_export_base_url=_env_url("FHIR_EXPORT_BASE_URL"),
        flag_target_minutes=_env_json("FLAG_TARGET_MINUTES", dict(DEFAULT_FLAG_TARGET_MINUTES)),
        measure_cadence_days=_env_json("MEASURE_CADENCE_DAYS", DEFAULT_MEASURE_CADENCE_DAYS),
    )
