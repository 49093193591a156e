"""Audit log verifiable without trusting the database; emergency access by reason category.

- ``audit_events.row_mac``: ``<key id>:<HMAC-SHA256(row_hash)>`` under a key kept outside the database. Rows
  written before this revision keep NULL: they stay verifiable by the plain chain, and the first sealed row
  after them covers them (its hash chains to theirs). ``python -m db.audit_verify --checkpoint`` writes such a
  sealed row at once after the upgrade.
- PostgreSQL: a statement trigger refuses TRUNCATE on the append-only history tables (row triggers do not fire
  on TRUNCATE, which emptied the audit log and left "intact: 0 rows"). SQLite has no TRUNCATE; its DELETE
  trigger (0002) covers ``DELETE FROM`` without a WHERE.
- ``break_glass_grants.category`` and ``allows_care``: emergency access is read-only unless its reason category
  allows care actions; grants from before this revision stay NULL (read-only).

Revision ID: 0008
Revises: 0007 (written in parallel with 0007; re-chained onto it when wip-sec-accounts merged main)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels = None
depends_on = None

APPEND_ONLY_TABLES = ("audit_events", "dose_changes", "flag_events", "amendments")


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("row_mac", sa.String(80)))
    op.add_column("break_glass_grants", sa.Column("category", sa.String(40)))
    op.add_column("break_glass_grants", sa.Column("allows_care", sa.Boolean))
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            # refuse_history_change() (0002) raises "<table> is append-only: TRUNCATE refused".
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute("ALTER TABLE break_glass_grants DROP COLUMN allows_care")
    op.execute("ALTER TABLE break_glass_grants DROP COLUMN category")
    op.execute("ALTER TABLE audit_events DROP COLUMN row_mac")
