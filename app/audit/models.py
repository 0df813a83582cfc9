from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.model_base import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    """One line of the append-only audit trail: one changed field, or one event.

    Rows are only ever inserted; no code path updates or deletes them.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system
    action: Mapped[str] = mapped_column(String(40))  # create, update, login, grant, …
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None]
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    field: Mapped[str | None] = mapped_column(String(80))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64), unique=True)

    actor: Mapped[User | None] = relationship(lazy="joined")

    # Not a column: the rows recorded together with this one (the other fields of one save),
    # as plain column values. The chain writes them right after it; as objects of their own
    # they cost the ORM tens of microseconds each.
    batch: tuple[dict, ...] = ()

    def chained_fields(self) -> tuple:
        """What the hash covers, in a fixed order."""
        return (self.occurred_at, self.actor_id, self.action, self.entity_type, self.entity_id,
                self.site_id, self.field, self.old_value, self.new_value, self.reason)


class AuditChain(Base):
    """The head of the hash chain: one row, locked by whoever appends audit rows."""

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_hash: Mapped[str] = mapped_column(String(64))
