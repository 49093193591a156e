"""Retracted self-reports: a report its sender marks entered-in-error is kept and marked, never deleted.

``assessments.retracted_at`` / ``retracted_reason`` / ``retracted_by_id``: set once on the current version of a
report when a FHIR ``entered-in-error`` arrives for its identifier. A retracted score leaves trends, the chart,
outcomes, the caseload and the overview (``db.models.current_assessment``); the row and its audit events stay.
Plain ADD COLUMN: no batch rebuild.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("assessments", sa.Column("retracted_at", sa.DateTime))
    op.add_column("assessments", sa.Column("retracted_reason", sa.Text))
    # No foreign key: ADD COLUMN with a REFERENCES clause is fine on both, but the id is informational (the
    # audit event names the user) and a system import (command line) has no user.
    op.add_column("assessments", sa.Column("retracted_by_id", sa.Integer))


def downgrade() -> None:
    retracted = op.get_bind().execute(sa.text("SELECT count(*) FROM assessments WHERE retracted_at IS NOT NULL"))
    if retracted.scalar():
        # Dropping the mark would put reports entered in error back into trends and outcomes.
        raise RuntimeError("retracted self-reports exist: downgrading would count them again; not done")
    for column in ("retracted_by_id", "retracted_reason", "retracted_at"):
        op.execute(f"ALTER TABLE assessments DROP COLUMN {column}")
