from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.model_base import Base, UTCDateTime, utcnow
from app.participants.models import Participant

OPEN_VISIT = "actual_date IS NULL AND not_done_reason IS NULL AND cancelled_at IS NULL"


class Visit(Base):
    """One planned (or unscheduled) visit of a participant, with its window and what happened.

    Keyed by the definition's stable visit code, never by a definition row's id.
    """

    __tablename__ = "visits"
    __table_args__ = (
        UniqueConstraint("participant_id", "code"),
        # the sweep's visits that may need attention: not done, not cancelled (a few percent)
        Index("ix_visits_open", "site_id", "window_start",
              postgresql_where=text(OPEN_VISIT), sqlite_where=text(OPEN_VISIT)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    anchor: Mapped[str | None] = mapped_column(String(40))  # None: unscheduled
    target_date: Mapped[date] = mapped_column(Date, index=True)
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    window_ours: Mapped[bool] = mapped_column(default=False)
    unscheduled: Mapped[bool] = mapped_column(default=False)
    actual_date: Mapped[date | None] = mapped_column(Date)
    not_done_reason: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(30), default="scheduled")  # as last computed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    AUDITED = ("target_date", "window_start", "window_end", "actual_date", "not_done_reason",
               "status")

    participant: Mapped[Participant] = relationship(back_populates="visits")


class ParticipantEvent(Base):
    """The actual date of an anchor event (an infusion, a leukapheresis) for a participant."""

    __tablename__ = "participant_events"
    __table_args__ = (UniqueConstraint("participant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    code: Mapped[str] = mapped_column(String(40))
    actual_date: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Deviation(Base):
    """A protocol deviation, e.g. a visit done outside its window."""

    __tablename__ = "deviations"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    kind: Mapped[str] = mapped_column(String(40))  # visit_out_of_window, dose, …
    detail: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the date was corrected
