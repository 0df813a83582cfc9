from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.model_base import Base, UTCDateTime, utcnow


class Site(Base):
    """A trial site: a hospital department with its own staff, calendar and time zone."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name, e.g. Asia/Seoul
    reminder_lead_days: Mapped[int] = mapped_column(default=7)  # "upcoming" this long before
    reminder_kinds: Mapped[str] = mapped_column(String(60), default="upcoming,due,overdue,missed")
    reminder_digest: Mapped[bool] = mapped_column(default=True)  # False: one email per visit
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    AUDITED = ("code", "name", "timezone", "reminder_lead_days", "reminder_kinds",
               "reminder_digest")

    @property
    def kinds(self) -> set[str]:
        return {k.strip() for k in self.reminder_kinds.split(",") if k.strip()}

    def __repr__(self) -> str:
        return f"<Site {self.code}>"
