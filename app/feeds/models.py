from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.model_base import Base, UTCDateTime, utcnow
from app.sites.models import Site


class FeedToken(Base):
    """A secret calendar-subscription address: a user's visits at one site, or at all theirs.

    Only the token's SHA-256 is kept; the token itself is shown once, when it is made.
    The feed shows what its owner may see today, so a revoked grant empties it at once.
    """

    __tablename__ = "feed_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))  # None: all their sites
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    site: Mapped[Site | None] = relationship(lazy="joined")

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"<FeedToken {self.id} user={self.user_id} site={self.site_id}>"
