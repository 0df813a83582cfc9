from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.model_base import Base, UTCDateTime, utcnow
from app.sites.models import Site
from app.studies.models import ProtocolVersion, Study

if TYPE_CHECKING:
    from app.visits.models import Visit


class Participant(Base):
    """An enrolled participant, known by a participant ID only (no names are kept)."""

    __tablename__ = "participants"
    __table_args__ = (
        UniqueConstraint("study_id", "participant_code"),
        Index("ix_participants_enrolled_at", "enrolled_at", "id"),  # the list, newest first
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"))
    protocol_version_id: Mapped[int] = mapped_column(ForeignKey("protocol_versions.id"))
    screening_id: Mapped[int] = mapped_column(ForeignKey("screenings.id"), unique=True)
    participant_code: Mapped[str] = mapped_column(String(40))  # e.g. SEOUL-007
    subgroup: Mapped[str | None] = mapped_column(String(20))
    arm: Mapped[str | None] = mapped_column(String(20))  # set at enrolment or randomization
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enrolled_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    start_date: Mapped[date | None] = mapped_column(Date)  # the plan's day 0 (site-local)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)

    visits: Mapped[list[Visit]] = relationship(back_populates="participant",
                                               order_by="(Visit.target_date, Visit.id)")

    site: Mapped[Site] = relationship(lazy="joined")
    study: Mapped[Study] = relationship(lazy="joined")
    protocol_version: Mapped[ProtocolVersion] = relationship()

    __mapper_args__ = {"version_id_col": version}

    AUDITED = ("participant_code", "subgroup", "arm", "start_date", "withdrawal_reason")


class SiteSequence(Base):
    """A per-site, per-study counter (participant numbers, randomization positions)."""

    __tablename__ = "site_sequences"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_value: Mapped[int] = mapped_column(default=0)
