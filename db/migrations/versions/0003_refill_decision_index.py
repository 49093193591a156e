"""Index refill decisions by time: the supervisor overview's turnaround figure reads decisions since a date.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_refill_requests_decided_at", "refill_requests", ["decided_at"])


def downgrade() -> None:
    op.drop_index("ix_refill_requests_decided_at", table_name="refill_requests")
