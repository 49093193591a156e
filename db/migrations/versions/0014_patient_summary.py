"""Per-patient summaries for the program overview: ``patient_summaries`` and ``patient_measure_summaries``.

Derived tables, maintained by the write commands (``db.summary.refresh_patient_summary``) in each write's
transaction. An existing program's rows are filled by ``db.migrate.upgrade`` after the migrations (it runs
``db.summary.rebuild_summaries`` when patients lack a summary), not here, so this revision does not depend on
the application code of later revisions.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patient_summaries",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("prescriber_id", sa.Integer(), nullable=True),
        sa.Column("nurse_id", sa.Integer(), nullable=True),
        sa.Column("program_phase", sa.String(20), nullable=False),
        sa.Column("program_start_date", sa.Date(), nullable=False),
        sa.Column("last_visit_at", sa.DateTime(), nullable=True),
        sa.Column("next_visit_due", sa.Date(), nullable=True),
        sa.Column("last_phq9_at", sa.DateTime(), nullable=True),
        sa.Column("open_flags", sa.Integer(), nullable=False),
        sa.Column("urgent_flags", sa.Integer(), nullable=False),
        sa.Column("high_flags", sa.Integer(), nullable=False),
        sa.Column("moderate_flags", sa.Integer(), nullable=False),
        sa.Column("low_flags", sa.Integer(), nullable=False),
        sa.Column("pending_refills", sa.Integer(), nullable=False),
        sa.Column("refills_decided", sa.Integer(), nullable=False),
        sa.Column("refill_turnaround_hours", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_patient_summaries_patient_id_patients")),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_summaries")),
    )
    op.create_index("ix_patient_summaries_prescriber_nurse", "patient_summaries", ["prescriber_id", "nurse_id"])
    op.create_index("ix_patient_summaries_nurse", "patient_summaries", ["nurse_id"])
    op.create_table(
        "patient_measure_summaries",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(20), nullable=False),
        sa.Column("baseline_total", sa.Integer(), nullable=True),
        sa.Column("baseline_at", sa.DateTime(), nullable=True),
        sa.Column("latest_total", sa.Integer(), nullable=True),
        sa.Column("latest_at", sa.DateTime(), nullable=True),
        sa.Column("latest_severity", sa.String(30), nullable=True),
        sa.Column("previous_total", sa.Integer(), nullable=True),
        sa.Column("last_administered_at", sa.DateTime(), nullable=True),
        sa.Column("percent_reduction", sa.Float(), nullable=True),
        sa.Column("response", sa.Boolean(), nullable=True),
        sa.Column("remission", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_patient_measure_summaries_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("patient_id", "measure", name=op.f("pk_patient_measure_summaries")),
    )


def downgrade() -> None:
    op.drop_table("patient_measure_summaries")
    op.drop_index("ix_patient_summaries_nurse", table_name="patient_summaries")
    op.drop_index("ix_patient_summaries_prescriber_nurse", table_name="patient_summaries")
    op.drop_table("patient_summaries")
