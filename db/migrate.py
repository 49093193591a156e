"""Run Alembic migrations from code: ``python -m db.migrate [upgrade|downgrade] [revision]``."""

from __future__ import annotations

import sys

from alembic import command
from alembic.config import Config

from db.settings import PROJECT_ROOT, get_settings


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url or get_settings().database_url
    return config


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)
    if revision == "head":
        _fill_missing_summaries(database_url or get_settings().database_url)


def _fill_missing_summaries(database_url: str) -> None:
    """Migration 0014 creates the per-patient summaries empty; fill them from history once (seconds per
    10,000 patients). Later upgrades find every patient summarised and only count rows."""
    from db.engine import make_engine  # late imports: the models must match the migrated schema (head)
    from db.summary import rebuild_summaries, summaries_missing

    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            if summaries_missing(connection):
                rebuild_summaries(connection)
    finally:
        engine.dispose()


def downgrade(database_url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def main(argv: list[str]) -> int:
    action = argv[0] if argv else "upgrade"
    revision = argv[1] if len(argv) > 1 else ("head" if action == "upgrade" else "base")
    if action == "upgrade":
        upgrade(revision=revision)
    elif action == "downgrade":
        downgrade(revision=revision)
    else:
        print(f"unknown action {action!r}: use upgrade or downgrade", file=sys.stderr)
        return 2
    print(f"database {action}d to {revision}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
