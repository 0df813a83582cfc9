"""audit hash chain: every audit row carries its hash and the hash of the row before it

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 04:04:00

Rows already stored are chained in id order, so `flask audit verify` holds from the start.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.domain.audit import GENESIS, chain_hash

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIELDS = (
    "occurred_at",
    "actor_id",
    "action",
    "entity_type",
    "entity_id",
    "site_id",
    "field",
    "old_value",
    "new_value",
    "reason",
)


def upgrade() -> None:
    op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
    last = _chain_existing_rows()
    op.get_bind().execute(
        sa.text("INSERT INTO audit_chain (id, last_hash) VALUES (1, :h)"), {"h": last}
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("row_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_events_row_hash"), ["row_hash"])


def _chain_existing_rows() -> str:
    bind = op.get_bind()
    events = sa.table(
        "audit_events",
        sa.column("id"),
        sa.column("prev_hash"),
        sa.column("row_hash"),
        *(
            sa.column(f, sa.DateTime(timezone=True)) if f == "occurred_at" else sa.column(f)
            for f in FIELDS
        ),
    )
    previous = GENESIS
    rows = bind.execute(
        sa.select(events.c.id, *(events.c[f] for f in FIELDS)).order_by(events.c.id)
    ).all()
    for row in rows:
        occurred = row.occurred_at
        if occurred is not None and occurred.tzinfo is None:
            occurred = occurred.replace(tzinfo=__import__("datetime").UTC)
        values = (occurred, *(row[i + 2] for i in range(len(FIELDS) - 1)))
        current = chain_hash(previous, values)
        bind.execute(
            events.update()
            .where(events.c.id == row.id)
            .values(prev_hash=previous, row_hash=current)
        )
        previous = current
    return previous


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_events_row_hash"), type_="unique")
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
    op.drop_table("audit_chain")
