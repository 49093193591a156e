"""Online backup of the embedded SQLite database, safe while the app is running.

``python -m db.backup [DEST]`` copies the database named by DATABASE_URL with SQLite's online backup API
(a consistent snapshot, even mid-write) to DEST (default: data/backups/iop-<UTC timestamp>.db) and checks
the copy's integrity. For PostgreSQL use pg_dump (see the README).
"""

from __future__ import annotations

import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

from db.settings import PROJECT_ROOT, get_settings


def backup_sqlite(source: Path, destination: Path) -> Path:
    destination.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(destination) as dst:
        src.backup(dst, pages=1024)
        result = dst.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        raise RuntimeError(f"backup integrity check failed: {result}")
    return destination


def main(argv: list[str]) -> int:
    url = get_settings().database_url
    if not url.startswith("sqlite"):
        print("DATABASE_URL is not SQLite: back PostgreSQL up with pg_dump (see README).", file=sys.stderr)
        return 2
    source = Path(url.split("///", 1)[1])
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    destination = Path(argv[0]) if argv else PROJECT_ROOT / "data" / "backups" / f"iop-{stamp}.db"
    backup_sqlite(source, destination)
    print(f"backed up {source} to {destination}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
