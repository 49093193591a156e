"""Account safeguards: forced password change, second-person approval of admin-made accounts, TOTP MFA.

- ``users.must_change_password``: set for a new account and for a password an administrator set, so that only
  the user's own password opens charts; the user sees nothing but the change-password page until done.
- ``users.pending_approval`` / ``pending_reason`` / ``created_by_id`` / ``approved_by_id`` / ``approved_at``: a
  account an administrator created, or gave a password or authenticator reset, cannot log in until a
  second administrator or a supervisor, never the person who made the change, approves it.
- ``users.totp_secret`` / ``totp_enrolled_at`` / ``totp_last_step``: the TOTP (RFC 6238) secret, when it was
  confirmed, and the last time step accepted, so a code cannot be replayed within its window.
- ``recovery_codes``: one-time recovery codes, stored as salted SHA-256 hashes only.
- ``login_challenges``: the second login step, kept server-side with its expiry and its failed attempts.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels = None
depends_on = None

# Plain ADD/DROP COLUMN on both databases (as 0004 and 0006), so the users table is never rebuilt.
COLUMNS: tuple[tuple[str, sa.Column], ...] = (
    ("users", sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false())),
    ("users", sa.Column("pending_approval", sa.Boolean, nullable=False, server_default=sa.false())),
    ("users", sa.Column("pending_reason", sa.String(40))),
    # User ids without a foreign key: SQLite cannot DROP a column that takes part in one (downgrade).
    ("users", sa.Column("created_by_id", sa.Integer)),
    ("users", sa.Column("approved_by_id", sa.Integer)),
    ("users", sa.Column("approved_at", sa.DateTime)),
    ("users", sa.Column("totp_secret", sa.String(64))),
    ("users", sa.Column("totp_enrolled_at", sa.DateTime)),
    ("users", sa.Column("totp_last_step", sa.BigInteger)),
)


def upgrade() -> None:
    for table, column in COLUMNS:
        op.add_column(table, column)
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("used_at", sa.DateTime),
    )
    op.create_index("ix_recovery_codes_user_id", "recovery_codes", ["user_id"])
    op.create_table(
        "login_challenges",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("completed_at", sa.DateTime),
    )
    op.create_index("ix_login_challenges_user_id", "login_challenges", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_login_challenges_user_id", "login_challenges")
    op.drop_table("login_challenges")
    op.drop_index("ix_recovery_codes_user_id", "recovery_codes")
    op.drop_table("recovery_codes")
    for table, column in reversed(COLUMNS):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column.name}")
