from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.model_base import Base, UTCDateTime, utcnow


class Signature(Base):
    """An investigator's electronic signature of one CRF or of a whole visit.

    It is bound to a hash of what was signed; when that content changes the signature is
    invalidated (the row stays, with when and why), never deleted.
    """

    __tablename__ = "signatures"
    __table_args__ = (Index("ix_signatures_target", "target", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(12))  # "crf" or "visit"
    target_id: Mapped[int]
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"))
    signer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    printed_name: Mapped[str] = mapped_column(String(200))  # as it was when signed
    meaning: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    content_hash: Mapped[str] = mapped_column(String(64))
    invalidated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invalidated_reason: Mapped[str | None] = mapped_column(Text)

    signer: Mapped[User] = relationship(lazy="joined")

    @property
    def valid(self) -> bool:
        return self.invalidated_at is None
