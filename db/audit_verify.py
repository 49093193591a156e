"""Verify the audit log: ``python -m db.audit_verify [--checkpoint] [--no-seal] [--checkpoints PATH]``.

First seals what can be sealed (db.audit_seal; ``--no-seal`` skips that, for a read-only database role), then
checks each row's own hash and keyed MAC (key from AUDIT_HMAC_KEY or .streamlit/secrets.toml, never from the
database), the sealed hash chain and every signed checkpoint in the checkpoint file (AUDIT_CHECKPOINT_PATH,
default data/audit-checkpoints.log). Rows newer than the sealed head (written in the last moments, or while no
sealer ran) are checked on their own and reported as pending seal. Exit 0 intact, 1 broken (naming the row or
checkpoint), 2 not checkable (no key).

``--checkpoint`` first records a sealed ``audit_checkpoint`` event, verifies the whole log, and only if it is
intact appends a signed checkpoint (row count up to the sealed head, that row's id and hash) to the checkpoint
file. Run it on a
schedule (cron, systemd timer) and keep the file on append-only storage outside the database server.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from db.audit import ChainCheck, record_event, verify_chain
from db.audit_checkpoints import append_checkpoint, checkpoint_path, read_checkpoints
from db.audit_keys import AuditKeyMissing, audit_keys
from db.audit_seal import seal_pending
from db.engine import read_session, utcnow, write_session

# Rows still unsealed after this long mean that no sealer runs (or one is stuck): worth a warning, not a failure.
STALE_PENDING_SECONDS = 60


def _pending_note(result: ChainCheck) -> str:
    if not result.pending_rows:
        return ""
    age = (utcnow() - result.oldest_pending_at).total_seconds() if result.oldest_pending_at else 0.0
    return f"; {result.pending_rows} newer rows pending seal (each verified on its own; oldest {age:.0f} s old)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", action="store_true", help="append a signed checkpoint if the log verifies")
    parser.add_argument("--checkpoints", type=Path, default=None, help="checkpoint file (default: see above)")
    parser.add_argument("--no-seal", action="store_true", help="verify only; do not seal pending rows first")
    args = parser.parse_args(argv)
    path = args.checkpoints or checkpoint_path()
    try:
        keys = audit_keys()
    except AuditKeyMissing as error:
        print(f"audit chain NOT CHECKED: {error}", file=sys.stderr)
        return 2
    if args.checkpoint:
        # A keyed row at the head, sealed just below: the checkpoint then pins a row and a chain link nobody can
        # forge without the key (after an upgrade from rows without MACs, the seals cover those rows too).
        with write_session() as session:
            record_event(session, None, "audit_checkpoint", data_category="audit", detail=str(path))
    if not args.no_seal:
        sealing = seal_pending(keys=keys)
        if sealing.problem:
            print(f"audit sealer stopped at row id {sealing.blocked_id}: {sealing.problem}")
    checkpoints, unreadable = read_checkpoints(keys, path=path)
    for problem in unreadable:
        print(f"audit checkpoints BROKEN: {problem}")
    with read_session() as session:
        result = verify_chain(session, keys=keys, checkpoints=checkpoints)
    if not result.intact:
        where = f"at row id {result.first_bad_id}: " if result.first_bad_id is not None else ": "
        print(f"audit chain BROKEN {where}{result.problem} ({result.rows_checked} rows before it verified)")
        return 1
    print(
        f"audit chain intact: {result.rows_checked} rows checked with the key"
        + (
            f" ({result.legacy_rows} from before the key existed, covered by the first sealed row)"
            if result.legacy_rows
            else ""
        )
        + f"; {result.sealed_rows} sealed into the chain{_pending_note(result)}"
        + f"; {result.checkpoints_checked} checkpoints matched ({path})"
    )
    oldest = result.oldest_pending_at
    if oldest is not None and (utcnow() - oldest).total_seconds() > STALE_PENDING_SECONDS:
        print(
            "warning: rows older than a minute are not sealed: is a sealer running (AUDIT_SEAL_INTERVAL_SECONDS, or "
            "`python -m db.audit_seal` from cron)? Unsealed rows are protected against alteration, not deletion"
        )
    if not checkpoints:
        print(
            "warning: no checkpoints, so rows deleted from the end of the log cannot be detected; "
            "run `python -m db.audit_verify --checkpoint` on a schedule"
        )
    if unreadable:
        return 1
    if args.checkpoint:
        # The head verified above: rows appended since are pinned by the next checkpoint.
        line = append_checkpoint(keys, result.sealed_rows, result.head_id, result.head_hash, path=path)
        print(f"checkpoint appended to {path}: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
