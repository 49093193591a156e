"""Second factor: TOTP (RFC 6238, via pyotp) and one-time recovery codes.

- A TOTP code is accepted within one 30-second step either side of now (clock drift), and only for a time step
  later than the last one accepted for that user (``users.totp_last_step``): a code seen over someone's
  shoulder, or replayed from a proxy log, does not work a second time within its window.
- The TOTP secret is stored as base32 text in ``users.totp_secret`` and never shown after enrolment (the
  enrolment page shows it once, with its QR code). It is not encrypted at rest: anyone who can read the users
  table can also read every chart, and a key kept beside the database would add little; the README says so.
- Recovery codes (10, shown once) are stored as SHA-256 of a per-code random salt and the code; each works once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import utcnow
from db.models import RecoveryCode, User

ISSUER = "IOP Medication Dashboard"
TOTP_STEP_SECONDS = 30
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper without mistakes


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def totp_code(secret: str, at: datetime) -> str:
    """The code an authenticator shows at ``at`` (naive UTC); used by tests and the demo printout."""
    return pyotp.TOTP(secret).at(_timestamp(at))


def _timestamp(at: datetime) -> int:
    return int((at - datetime(1970, 1, 1)).total_seconds())


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step ``code`` belongs to (now or one step either side), or None."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now_step = _timestamp(at) // TOTP_STEP_SECONDS
    for step in (now_step, now_step - 1, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def verify_totp(user: User, code: str, *, now: datetime | None = None) -> bool:
    """Accept a fresh TOTP code for ``user`` and spend its time step (inside the caller's transaction)."""
    if not user.totp_secret or user.totp_enrolled_at is None:
        return False
    step = matching_step(user.totp_secret, code, now or utcnow())
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def _recovery_hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _normalise_recovery(code: str) -> str:
    return "".join(code.lower().split()).replace("-", "")


def new_recovery_codes(session: Session, user: User, *, now: datetime | None = None) -> list[str]:
    """Replace the user's recovery codes with 10 new ones; returns them in clear (shown once, never stored)."""
    now = now or utcnow()
    unused = select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    for old in session.scalars(unused):
        old.used_at = now  # spent by replacement, so an old printout stops working
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        salt = secrets.token_hex(16)
        session.add(RecoveryCode(user_id=user.id, salt=salt, code_hash=_recovery_hash(salt, raw), created_at=now))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def use_recovery_code(session: Session, user: User, code: str, *, now: datetime | None = None) -> bool:
    """Spend one unused recovery code matching ``code``; False if none does."""
    wanted = _normalise_recovery(code)
    if len(wanted) != 10:
        return False
    unused = session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).all()
    for candidate in unused:
        if hmac.compare_digest(candidate.code_hash, _recovery_hash(candidate.salt, wanted)):
            candidate.used_at = now or utcnow()
            return True
    return False


def verify_second_factor(session: Session, user: User, code: str, *, now: datetime | None = None) -> str | None:
    """ "totp" or "recovery code" when ``code`` is a fresh TOTP code or an unused recovery code; else None."""
    if verify_totp(user, code, now=now):
        return "totp"
    if use_recovery_code(session, user, code, now=now):
        return "recovery code"
    return None
