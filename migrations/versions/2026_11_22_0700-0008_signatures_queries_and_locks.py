"""signatures, queries and locks

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 07:00:00

Electronic signatures bound to a content hash, data clarification queries with their
messages, and locks on CRFs, participants and studies.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.model_base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=12), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("locked_at", app.model_base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_by_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("unlocked_at", app.model_base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("unlocked_by_id", sa.Integer(), nullable=True),
        sa.Column("unlock_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["locked_by_id"], ["users.id"], name=op.f("fk_locks_locked_by_id_users")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_locks_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["study_id"], ["studies.id"], name=op.f("fk_locks_study_id_studies")
        ),
        sa.ForeignKeyConstraint(
            ["unlocked_by_id"], ["users.id"], name=op.f("fk_locks_unlocked_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locks")),
    )
    with op.batch_alter_table("locks", schema=None) as batch_op:
        batch_op.create_index("ix_locks_scope_target", ["scope", "target_id"], unique=False)

    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=12), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("signer_id", sa.Integer(), nullable=False),
        sa.Column("printed_name", sa.String(length=200), nullable=False),
        sa.Column("meaning", sa.String(length=200), nullable=False),
        sa.Column("signed_at", app.model_base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("invalidated_at", app.model_base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("invalidated_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["signer_id"], ["users.id"], name=op.f("fk_signatures_signer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_signatures_site_id_sites")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["studies.id"], name=op.f("fk_signatures_study_id_studies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatures")),
    )
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signatures_site_id"), ["site_id"], unique=False)
        batch_op.create_index("ix_signatures_target", ["target", "target_id"], unique=False)

    op.create_table(
        "queries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("opened_at", app.model_base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", app.model_base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", app.model_base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["crf_entries.id"], name=op.f("fk_queries_entry_id_crf_entries")
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_id"], ["users.id"], name=op.f("fk_queries_opened_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_queries_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_queries_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["study_id"], ["studies.id"], name=op.f("fk_queries_study_id_studies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queries")),
    )
    with op.batch_alter_table("queries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queries_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_queries_participant_id"), ["participant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_queries_site_id"), ["site_id"], unique=False)

    op.create_table(
        "query_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("query_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", app.model_base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_query_messages_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["query_id"], ["queries.id"], name=op.f("fk_query_messages_query_id_queries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_query_messages")),
    )
    with op.batch_alter_table("query_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_query_messages_query_id"), ["query_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("query_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_query_messages_query_id"))

    op.drop_table("query_messages")
    with op.batch_alter_table("queries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queries_site_id"))
        batch_op.drop_index(batch_op.f("ix_queries_participant_id"))
        batch_op.drop_index(batch_op.f("ix_queries_entry_id"))

    op.drop_table("queries")
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_index("ix_signatures_target")
        batch_op.drop_index(batch_op.f("ix_signatures_site_id"))

    op.drop_table("signatures")
    with op.batch_alter_table("locks", schema=None) as batch_op:
        batch_op.drop_index("ix_locks_scope_target")

    op.drop_table("locks")
