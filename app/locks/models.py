from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.model_base import Base, UTCDateTime, utcnow


class Lock(Base):
    """A data manager's lock on one CRF, one participant or a whole study.

    While `unlocked_at` is empty the data under it is read-only; unlocking keeps the row.
    """

    __tablename__ = "locks"
    __table_args__ = (Index("ix_locks_scope_target", "scope", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(12))  # "crf", "participant" or "study"
    target_id: Mapped[int]
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))  # None for a study lock
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    unlocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unlocked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unlock_reason: Mapped[str | None] = mapped_column(Text)

    locked_by: Mapped[User] = relationship(foreign_keys=[locked_by_id], lazy="joined")
