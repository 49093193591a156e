"""Corrected self-reports: a correction is a new assessment row that names the row it supersedes.

``assessments.supersedes_id`` links a correction (FHIR status amended/corrected) to the version it replaces;
the replaced row is never changed. Unique, so one version is superseded at most once. The sender's identifier
(``external_id``) is shared by every version of a report, so its unique constraint becomes a partial unique
index over first versions (``supersedes_id IS NULL``), which both SQLite and PostgreSQL support.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None

FIRST_VERSION_INDEX = "uq_assessments_external_id_first_version"
FIRST_VERSION = sa.text("supersedes_id IS NULL")


def upgrade() -> None:
    # On SQLite, dropping a constraint rebuilds the table (batch mode); assessments carries no append-only
    # trigger (migration 0002), so the rebuild loses none.
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supersedes_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_assessments_supersedes_id_assessments"), "assessments", ["supersedes_id"], ["id"]
        )
        batch_op.create_unique_constraint(op.f("uq_assessments_supersedes_id"), ["supersedes_id"])
        batch_op.drop_constraint(op.f("uq_assessments_external_id"), type_="unique")
    op.create_index(
        FIRST_VERSION_INDEX,
        "assessments",
        ["external_id"],
        unique=True,
        sqlite_where=FIRST_VERSION,
        postgresql_where=FIRST_VERSION,
    )


def downgrade() -> None:
    corrections = op.get_bind().execute(sa.text("SELECT count(*) FROM assessments WHERE supersedes_id IS NOT NULL"))
    if corrections.scalar():
        # Dropping the link would put every version of a corrected report back into trends as separate scores.
        raise RuntimeError("corrected self-reports exist: downgrading would merge their versions; not done")
    op.drop_index(FIRST_VERSION_INDEX, table_name="assessments")
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.create_unique_constraint(op.f("uq_assessments_external_id"), ["external_id"])
        batch_op.drop_constraint(op.f("uq_assessments_supersedes_id"), type_="unique")
        batch_op.drop_constraint(op.f("fk_assessments_supersedes_id_assessments"), type_="foreignkey")
        batch_op.drop_column("supersedes_id")
