from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.model_base import Base, UTCDateTime, utcnow


class Study(Base):
    """A study, identified by its protocol code; its definitions live in schedules/ and forms/."""

    __tablename__ = "studies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    registry_id: Mapped[str | None] = mapped_column(String(40))  # e.g. NCT04835883


class ProtocolVersion(Base):
    """One version of a study's definition, stored as the documents it was loaded from.

    A participant keeps the version they were screened and enrolled under; an amended
    definition is a new version, never an edit of this one.
    """

    __tablename__ = "protocol_versions"
    __table_args__ = (UniqueConstraint("study_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    documents: Mapped[dict] = mapped_column(JSON)  # {file name: parsed YAML}
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    study: Mapped[Study] = relationship(lazy="joined")
