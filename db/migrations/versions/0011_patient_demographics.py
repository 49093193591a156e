"""Patient demographics for US Core: OMB race and ethnicity codes and the patient's own phone number.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch rebuild): the SQLite triggers of 0002/0008 must survive.
    op.add_column("patients", sa.Column("race", sa.String(12)))
    op.add_column("patients", sa.Column("ethnicity", sa.String(12)))
    op.add_column("patients", sa.Column("phone", sa.String(40)))


def downgrade() -> None:
    for column in ("phone", "ethnicity", "race"):
        op.execute(f"ALTER TABLE patients DROP COLUMN {column}")
