"""One-time check-in links for patients to report between visits: ``patient_checkin_links``.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patient_checkin_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "patient_id",
            sa.Integer(),
            sa.ForeignKey("patients.id", name="fk_patient_checkin_links_patient_id_patients"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("measures", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column(
            "created_by_id",
            sa.Integer(),
            sa.ForeignKey("users.id", name="fk_patient_checkin_links_created_by_id_users"),
            nullable=True,
        ),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=True),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column(
            "revoked_by_id",
            sa.Integer(),
            sa.ForeignKey("users.id", name="fk_patient_checkin_links_revoked_by_id_users"),
            nullable=True,
        ),
        sa.Column("missed_doses", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_patient_checkin_links"),
        sa.UniqueConstraint("token_hash", name="uq_patient_checkin_links_token_hash"),
    )
    op.create_index("ix_patient_checkin_links_patient_created", "patient_checkin_links", ["patient_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_patient_checkin_links_patient_created", table_name="patient_checkin_links")
    op.drop_table("patient_checkin_links")
