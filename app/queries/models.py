from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.crf.models import CrfEntry
from app.model_base import Base, UTCDateTime, utcnow
from app.sites.models import Site


class Query(Base):
    """A data clarification query on one item of one CRF: open → answered → closed (or reopened)."""

    __tablename__ = "queries"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("crf_entries.id"), index=True)
    item_code: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="open")  # open, answered, closed
    automatic: Mapped[bool] = mapped_column(default=False)  # opened by a soft range check
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    messages: Mapped[list[QueryMessage]] = relationship(
        back_populates="query", lazy="selectin", order_by="QueryMessage.id")
    entry: Mapped[CrfEntry] = relationship()
    site: Mapped[Site] = relationship()
    participant = relationship("Participant")

    __mapper_args__ = {"version_id_col": version}


class QueryMessage(Base):
    """One step of a query's conversation: raised, answered, corrected, closed, reopened."""

    __tablename__ = "query_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("queries.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system
    action: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    query: Mapped[Query] = relationship(back_populates="messages")
    author: Mapped[User | None] = relationship(lazy="joined")
