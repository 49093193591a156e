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
