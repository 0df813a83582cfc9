"""indexes for the participant list and the sweep

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 19:30:00

The participant list pages newest enrolment first (ix_participants_enrolled_at); the sweep
finds the visits that may need attention through a partial index of open visits
(ix_visits_open). Measured in docs/benchmarks.md.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_VISIT = "actual_date IS NULL AND not_done_reason IS NULL AND cancelled_at IS NULL"


def upgrade() -> None:
    op.create_index("ix_participants_enrolled_at", "participants", ["enrolled_at", "id"])
    op.create_index("ix_visits_open", "visits", ["site_id", "window_start"],
                    postgresql_where=sa.text(OPEN_VISIT), sqlite_where=sa.text(OPEN_VISIT))


def downgrade() -> None:
    op.drop_index("ix_visits_open", table_name="visits")
    op.drop_index("ix_participants_enrolled_at", table_name="participants")
