"""What the safety review needs to know about the patient, and medications prescribed elsewhere.

- ``patients``: pregnancy status, lactation, benign ethnic neutropenia, creatinine clearance and hepatic
  impairment (inputs of the dose, reproductive-safety and clozapine ANC rules), each NULL when not known.
- ``visits``: height, waist circumference and heart rate (BMI, metabolic and stimulant monitoring).
- ``prescriptions.source``: who prescribes a medication the program does not (primary care, a hospital, over
  the counter); NULL for the program's own prescriptions.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels = None
depends_on = None

# Plain ADD/DROP COLUMN on both databases (SQLite >= 3.35 drops columns natively), so no table is rebuilt.
COLUMNS: tuple[tuple[str, sa.Column], ...] = (
    ("patients", sa.Column("pregnancy_status", sa.String(12))),
    ("patients", sa.Column("lactating", sa.Boolean)),
    ("patients", sa.Column("benign_ethnic_neutropenia", sa.Boolean)),
    ("patients", sa.Column("crcl_ml_min", sa.Float)),
    ("patients", sa.Column("hepatic_impairment", sa.String(10))),
    ("visits", sa.Column("height_cm", sa.Float)),
    ("visits", sa.Column("waist_cm", sa.Float)),
    ("visits", sa.Column("heart_rate", sa.Integer)),
    ("prescriptions", sa.Column("source", sa.String(120))),
)


def upgrade() -> None:
    for table, column in COLUMNS:
        op.add_column(table, column)


def downgrade() -> None:
    for table, column in reversed(COLUMNS):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column.name}")
