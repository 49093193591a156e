"""One form submission, one write: a form carries a random token that its command claims in the same
transaction as the write. A second click, a replayed rerun or a retried request with the same token finds the
claim and writes nothing; the user is told what the first submission saved."""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.commands import AlreadySubmitted, InvalidInput
from db.engine import utcnow
from db.models import FormSubmission
from db.permissions import Actor

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def claim_submission(session: Session, actor: Actor | None, token: str | None, action: str) -> FormSubmission | None:
    """Record ``token`` as used (inside the caller's transaction), or raise ``AlreadySubmitted`` if it was.

    Write transactions are serialized (SQLite's write lock, PostgreSQL's audit-chain lock), so the look-up and
    the insert cannot interleave with another claim; the primary key is the backstop. ``None`` (a caller that is
    not a form, such as the seed or an import) claims nothing.
    """
    if token is None:
        return None
    if not TOKEN_PATTERN.match(token):
        raise InvalidInput({"submission": "malformed form token; reload the page"})
    existing = session.get(FormSubmission, token)
    if existing is not None:
        raise AlreadySubmitted(existing.submitted_at, existing.outcome)
    claim = FormSubmission(token=token, user_id=actor.user_id if actor else None, action=action, submitted_at=utcnow())
    try:
        with session.begin_nested():
            session.add(claim)
            session.flush()
    except IntegrityError as error:
        raise AlreadySubmitted(None, None) from error
    return claim


def settle_submission(claim: FormSubmission | None, *, record_type: str, record_id: int | None, outcome: str) -> None:
    """Note what the submission wrote, so a repeat can be answered with it."""
    if claim is None:
        return
    claim.record_type = record_type
    claim.record_id = record_id
    claim.outcome = outcome[:2000]


__all__ = ["AlreadySubmitted", "claim_submission", "settle_submission"]
