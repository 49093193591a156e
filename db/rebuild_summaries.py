"""Recompute every patient's summary from history: ``python -m db.rebuild_summaries``.

Safe at any time (writers wait for it); needed only after a bulk load that bypassed the write commands.
``python -m db.migrate`` runs it by itself when some patient has no summary.
"""

from __future__ import annotations

import time

from sqlalchemy import Engine

from db.engine import get_engine
from db.summary import rebuild_summaries


def rebuild(engine: Engine | None = None) -> int:
    """Rebuild all summaries in one transaction; returns the number of patients."""
    engine = engine or get_engine()
    with engine.begin() as connection:
        return rebuild_summaries(connection)


def main() -> int:
    started = time.perf_counter()
    patients = rebuild()
    print(f"rebuilt the summaries of {patients} patients in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
