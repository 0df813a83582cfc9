"""What every template may use: the user's sites, role checks, local time formatting."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select

from app import access
from app.db import db
from app.domain.access import Permission
from app.domain.rules import Quantity
from app.sites.models import Site


def local_time(value: datetime | None, tz: str | None = None) -> str:
    """A UTC timestamp shown in a site's time zone (UTC when none is given)."""
    if value is None:
        return ""
    zone = ZoneInfo(tz) if tz else ZoneInfo("UTC")
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def show_value(value: Any) -> str:
    """A typed value for people: 116000000 cells, 12.5, yes, 2026-03-02."""
    if value is None:
        return "—"
    if isinstance(value, Quantity):
        return f"{_number(value.value)} {value.unit}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return _number(value)
    return str(value)


def _number(value: Decimal) -> str:
    if abs(value) >= 10_000:  # cell counts: whole cells, and the power of ten people write
        whole = int(value.to_integral_value())
        power = f"{float(whole):.3g}".replace("e+0", " × 10^").replace("e+", " × 10^")
        return f"{whole:,}".replace(",", " ") + f" ({power})"
    return format(value.normalize(), "f")


def my_sites() -> list[Site]:
    return list(db.session.scalars(access.scope(select(Site), Site.id).order_by(Site.code)))


def init_templating(app: Flask) -> None:
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["show_value"] = show_value

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"can": access.can, "Permission": Permission, "my_sites": my_sites}
