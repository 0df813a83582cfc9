from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.model_base import Base, UTCDateTime, utcnow


class RandomizationScheme(Base):
    """The data manager's secret seed for a study; the allocation list follows from it.

    Only data managers see it. Coordinators see only the assignment they just made.
    """

    __tablename__ = "randomization_schemes"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), unique=True)
    seed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class Assignment(Base):
    """One allocation: position n of a stratum's list, given to one participant, once."""

    __tablename__ = "randomization_assignments"
    __table_args__ = (UniqueConstraint("study_id", "stratum", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"))
    stratum: Mapped[str] = mapped_column(String(60))  # e.g. "site=SEOUL"
    position: Mapped[int]
    arm: Mapped[str] = mapped_column(String(20))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), unique=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
