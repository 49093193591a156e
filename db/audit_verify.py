"""Verify the audit log's hash chain: ``python -m db.audit_verify`` (exit 1 and name the row if broken)."""

from __future__ import annotations

import sys

from db.audit import verify_chain
from db.engine import read_session


def main() -> int:
    with read_session() as session:
        result = verify_chain(session)
    if result.intact:
        print(f"audit chain intact: {result.rows_checked} rows checked")
        return 0
    print(
        f"audit chain BROKEN at row id {result.first_bad_id}: {result.problem} "
        f"({result.rows_checked} rows before it verified)"
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
