"""The supervisor overview's snapshot: ``program_snapshots``.

A derived table, refreshed by each app server's background refresher (``db.program_snapshot``); empty until the
first refresh, and the overview computes its figures live while it is empty or stale.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "program_snapshots",
        sa.Column("scope", sa.String(40), nullable=False),
        sa.Column("program_today", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("compute_ms", sa.Float(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_program_snapshots")),
    )


def downgrade() -> None:
    op.drop_table("program_snapshots")
