"""Audit log without a global write lock: rows sealed into the hash chain afterwards, in id order.

Writers used to take one PostgreSQL advisory lock per transaction so that each audit row could read the previous
row's hash; every write in the program queued on it. Now each row carries only its own hash (bound to its id) and
keyed MAC, and a sealer (db.audit_seal) links committed rows into the chain by appending one row per audit event
to ``audit_seals``: ``seal_hash`` covers the previous seal and the event's id and hash, ``seal_mac`` is its HMAC
under the audit key. A separate append-only table, rather than chain columns filled in later on
``audit_events``, keeps both tables insert-only: the triggers (and the app role's grants) need no exception
that an attacker could use to rewrite a link.

Rows written before this revision keep their in-row chain (``prev_hash``); the sealer seals them like any other.

Revision ID: 0013
Revises: 0012

Downgrading drops the seals: rows written since then carry no in-row link, so the older verifier reports them
as broken; downgrade only a database whose log you will re-verify with this revision again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_seals",
        sa.Column("audit_event_id", sa.Integer(), nullable=False),
        sa.Column("prev_seal_hash", sa.String(length=64), nullable=True),
        sa.Column("seal_hash", sa.String(length=64), nullable=False),
        sa.Column("seal_mac", sa.String(length=80), nullable=False),
        sa.Column("sealed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_event_id"], ["audit_events.id"], name=op.f("fk_audit_seals_audit_event_id_audit_events")
        ),
        sa.PrimaryKeyConstraint("audit_event_id", name=op.f("pk_audit_seals")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # refuse_history_change() comes from 0002: the same refusal as the other history tables.
        op.execute(
            "CREATE TRIGGER audit_seals_append_only BEFORE UPDATE OR DELETE ON audit_seals "
            "FOR EACH ROW EXECUTE FUNCTION refuse_history_change()"
        )
        op.execute(
            "CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_seals_no_{operation.lower()} BEFORE {operation} ON audit_seals "
                f"BEGIN SELECT RAISE(ABORT, 'audit_seals is append-only: {operation} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_seals_no_truncate ON audit_seals")
        op.execute("DROP TRIGGER IF EXISTS audit_seals_append_only ON audit_seals")
    else:
        for operation in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_seals_no_{operation}")
    op.drop_table("audit_seals")
