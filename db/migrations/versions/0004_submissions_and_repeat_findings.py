"""One write per form submission, and repeated findings recorded on the flag they belong to.

- ``form_submissions``: the token a form carries, claimed by its command in the same transaction as the
  write, so a second click (or a replayed rerun) of the same submission writes nothing.
- ``flags.last_finding_at`` / ``flags.finding_count``: a new finding for a cause that already has an open
  flag is recorded on that flag; its response target counts from the newest finding.
- ``flag_events.source_table`` / ``source_id``: which record a flag event came from.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_submissions",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", name="fk_form_submissions_user_id_users")),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("submitted_at", sa.DateTime, nullable=False),
        sa.Column("record_type", sa.String(40)),
        sa.Column("record_id", sa.Integer),
        sa.Column("outcome", sa.Text),
    )
    # Plain ADD COLUMN on both databases: a batch (copy-and-move) rebuild on SQLite would drop the
    # append-only triggers of flag_events.
    op.add_column("flags", sa.Column("last_finding_at", sa.DateTime))
    op.add_column("flags", sa.Column("finding_count", sa.Integer, nullable=False, server_default="1"))
    op.execute("UPDATE flags SET last_finding_at = raised_at")
    op.add_column("flag_events", sa.Column("source_table", sa.String(40)))
    op.add_column("flag_events", sa.Column("source_id", sa.Integer))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN works on PostgreSQL and on SQLite >= 3.35 and keeps the triggers.
    for table, column in (
        ("flag_events", "source_id"),
        ("flag_events", "source_table"),
        ("flags", "finding_count"),
        ("flags", "last_finding_at"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.drop_table("form_submissions")
