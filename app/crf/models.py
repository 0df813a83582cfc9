from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.model_base import Base, UTCDateTime, utcnow


class CrfEntry(Base):
    """One filled (or partly filled) CRF: a screening form, or a visit's form."""

    __tablename__ = "crf_entries"
    __table_args__ = (UniqueConstraint("visit_id", "form_code", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    protocol_version_id: Mapped[int] = mapped_column(ForeignKey("protocol_versions.id"))
    form_code: Mapped[str] = mapped_column(String(40))
    screening_id: Mapped[int | None] = mapped_column(ForeignKey("screenings.id"), unique=True)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    sequence: Mapped[int] = mapped_column(default=1)  # instance number of a repeating form
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    screening = relationship("Screening", back_populates="entry")
    values: Mapped[list[ItemValue]] = relationship(back_populates="entry", lazy="selectin",
                                                   order_by="ItemValue.id")

    __mapper_args__ = {"version_id_col": version}

    def raw_values(self) -> dict[str, object]:
        """Values as entered, in the shape `app.domain.values.parse` reads."""
        return {v.item_code: v.as_entered() for v in self.values}


class ItemValue(Base):
    """One item's value as entered (text and unit) and in the protocol's unit."""

    __tablename__ = "item_values"
    __table_args__ = (UniqueConstraint("entry_id", "item_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("crf_entries.id"))
    item_code: Mapped[str] = mapped_column(String(40))
    value: Mapped[str | None] = mapped_column(Text)  # as typed, normalised to text
    unit: Mapped[str | None] = mapped_column(String(20))  # as chosen
    uln: Mapped[str | None] = mapped_column(String(40))  # the lab's upper limit, as typed
    canonical_value: Mapped[Decimal | None] = mapped_column(Numeric(24, 9))
    canonical_unit: Mapped[str | None] = mapped_column(String(20))

    entry: Mapped[CrfEntry] = relationship(back_populates="values")

    def as_entered(self) -> object:
        if self.unit is None:
            return self.value
        return {"value": self.value, "unit": self.unit, "uln": self.uln}

    def shown(self) -> str:
        return shown_value(self.value, self.unit, self.uln) or ""


def shown_value(value: str | None, unit: str | None, uln: str | None) -> str | None:
    """A value as the audit trail and the conflict page show it: '1.3 mg/dL (ULN 40)'."""
    if value is None:
        return None
    text = f"{value} {unit}" if unit else value
    return f"{text} (ULN {uln})" if uln else text


def split_shown(text: str | None, units: tuple[str, ...]) -> tuple[str | None, str | None,
                                                                     str | None]:
    """`shown_value` read back: (value, unit, ULN), for an audit row's old or new value."""
    if text is None:
        return None, None, None
    uln = None
    if text.endswith(")") and " (ULN " in text:
        text, _, rest = text.rpartition(" (ULN ")
        uln = rest[:-1]
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(f" {unit}"):
            return text[: -len(unit) - 1], unit, uln
    return text, None, uln
