"""Verify the audit log: ``python -m db.audit_verify [--checkpoint] [--checkpoints PATH]``.

Checks the hash chain, each row's keyed MAC (key from AUDIT_HMAC_KEY or .streamlit/secrets.toml, never from the
database) and every signed checkpoint in the checkpoint file (AUDIT_CHECKPOINT_PATH, default
data/audit-checkpoints.log). Exit 0 intact, 1 broken (naming the row or checkpoint), 2 not checkable (no key).

``--checkpoint`` first records a sealed ``audit_checkpoint`` event, verifies the whole log, and only if it is
intact appends a signed checkpoint (row count, newest row's id and hash) to the checkpoint file. Run it on a
schedule (cron, systemd timer) and keep the file on append-only storage outside the database server.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from db.audit import record_event, verify_chain
from db.audit_checkpoints import append_checkpoint, checkpoint_path, read_checkpoints
from db.audit_keys import AuditKeyMissing, audit_keys
from db.engine import read_session, write_session


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", action="store_true", help="append a signed checkpoint if the log verifies")
    parser.add_argument("--checkpoints", type=Path, default=None, help="checkpoint file (default: see above)")
    args = parser.parse_args(argv)
    path = args.checkpoints or checkpoint_path()
    try:
        keys = audit_keys()
    except AuditKeyMissing as error:
        print(f"audit chain NOT CHECKED: {error}", file=sys.stderr)
        return 2
    if args.checkpoint:
        # A sealed row at the head: after an upgrade from unsealed rows this seals them all (its hash covers
        # theirs), and the checkpoint then pins a row nobody can re-seal without the key.
        with write_session() as session:
            record_event(session, None, "audit_checkpoint", data_category="audit", detail=str(path))
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
        + f"; {result.checkpoints_checked} checkpoints matched ({path})"
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
        line = append_checkpoint(keys, result.rows_checked, result.head_id, result.head_hash, path=path)
        print(f"checkpoint appended to {path}: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
