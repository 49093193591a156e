"""Signed checkpoints of the audit log, kept outside the database.

A checkpoint records how many rows the log had and the hash of its newest row, signed with the audit HMAC key.
Appended one JSON line at a time to a file (``AUDIT_CHECKPOINT_PATH``, default ``data/audit-checkpoints.log``)
by ``python -m db.audit_verify --checkpoint``; the operator keeps that file on append-only storage (a WORM
bucket, ``chattr +a``, a log shipper) away from the database's administrators. Later verification then detects
a log cut short (TRUNCATE, deleted newest rows) or rewritten up to a checkpoint, which the chain alone cannot.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from db.audit_keys import AuditKeys
from db.settings import PROJECT_ROOT

DEFAULT_CHECKPOINT_PATH = PROJECT_ROOT / "data" / "audit-checkpoints.log"


def checkpoint_path() -> Path:
    return Path(os.environ.get("AUDIT_CHECKPOINT_PATH") or DEFAULT_CHECKPOINT_PATH)


@dataclass(frozen=True)
class Checkpoint:
    line: int
    at: str
    rows: int
    head_id: int | None
    head_hash: str | None


def _signed_content(at: str, rows: int, head_id: int | None, head_hash: str | None) -> str:
    return json.dumps({"at": at, "rows": rows, "head_id": head_id, "head_hash": head_hash}, sort_keys=True)


def append_checkpoint(
    keys: AuditKeys, rows: int, head_id: int | None, head_hash: str | None, *, path: Path | None = None
) -> str:
    """Append one signed checkpoint line (flushed to disk before returning) and return it."""
    path = path or checkpoint_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    at = datetime.now().astimezone().isoformat(timespec="seconds")
    record = {"at": at, "rows": rows, "head_id": head_id, "head_hash": head_hash}
    record["mac"] = keys.seal(_signed_content(at, rows, head_id, head_hash))
    line = json.dumps(record, sort_keys=True)
    with path.open("a", encoding="utf-8") as handle:  # append only: never rewrites an earlier line
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return line


def read_checkpoints(keys: AuditKeys, *, path: Path | None = None) -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints whose signature verifies, and a problem for each line that does not."""
    path = path or checkpoint_path()
    if not path.exists():
        return [], []
    checkpoints: list[Checkpoint] = []
    problems: list[str] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
            at, rows, head_id, head_hash = record["at"], int(record["rows"]), record["head_id"], record["head_hash"]
            sealed = str(record["mac"])
        except (ValueError, KeyError, TypeError):
            problems.append(f"checkpoint line {number} is not a checkpoint (corrupted)")
            continue
        if not keys.check(_signed_content(at, rows, head_id, head_hash), sealed):
            problems.append(f"checkpoint line {number} is not signed with a known audit key (forged or corrupted)")
            continue
        checkpoints.append(Checkpoint(number, at, rows, head_id, head_hash))
    return checkpoints, problems
