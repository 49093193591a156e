"""Login throttling per client address: ``login_attempts.client_address`` and an index to count by it.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("login_attempts", sa.Column("client_address", sa.String(64)))
    op.create_index("ix_login_attempts_address_time", "login_attempts", ["client_address", "attempted_at"])


def downgrade() -> None:
    op.drop_index("ix_login_attempts_address_time", table_name="login_attempts")
    op.execute("ALTER TABLE login_attempts DROP COLUMN client_address")
