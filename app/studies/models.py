from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.model_base import Base


class Study(Base):
    """A study, identified by its protocol code; its definitions live in schedules/ and forms/."""

    __tablename__ = "studies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    registry_id: Mapped[str | None] = mapped_column(String(40))  # e.g. NCT04835883
