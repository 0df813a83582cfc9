from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.crf.models import CrfEntry
from app.model_base import Base, UTCDateTime, utcnow
from app.sites.models import Site
from app.studies.models import ProtocolVersion, Study


class ScreeningStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    SCREEN_FAILED = "screen_failed"
    ENROLLED = "enrolled"


_STATUSES = ", ".join(f"'{s.value}'" for s in ScreeningStatus)


class Screening(Base):
    """A candidate being screened for a study at a site, identified by a screening number."""

    __tablename__ = "screenings"
    __table_args__ = (
        UniqueConstraint("site_id", "study_id", "screening_number"),
        CheckConstraint(f"status IN ({_STATUSES})", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"))
    protocol_version_id: Mapped[int] = mapped_column(ForeignKey("protocol_versions.id"))
    screening_number: Mapped[str] = mapped_column(String(40))
    subgroup: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ScreeningStatus.IN_PROGRESS.value)
    failure_reasons: Mapped[list | None] = mapped_column(JSON)  # [{id, text, reason}, …]
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)

    site: Mapped[Site] = relationship(lazy="joined")
    study: Mapped[Study] = relationship(lazy="joined")
    protocol_version: Mapped[ProtocolVersion] = relationship()
    entry: Mapped[CrfEntry] = relationship(back_populates="screening", uselist=False)

    __mapper_args__ = {"version_id_col": version}

    AUDITED = ("screening_number", "subgroup", "status")
