"""login lockout and session timeouts: failed logins counted per username in the database

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 06:00:00

The idle and absolute session timeouts use the existing auth_sessions columns.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.model_base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("window_started_at", app.model_base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("locked_until", app.model_base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_login_throttles")),
    )


def downgrade() -> None:
    op.drop_table("login_throttles")
