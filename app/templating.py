"""What every template may use: the user's sites, role checks, local time formatting."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select

from app import access
from app.db import db
from app.domain.access import Permission
from app.sites.models import Site


def local_time(value: datetime | None, tz: str | None = None) -> str:
    """A UTC timestamp shown in a site's time zone (UTC when none is given)."""
    if value is None:
        return ""
    zone = ZoneInfo(tz) if tz else ZoneInfo("UTC")
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def my_sites() -> list[Site]:
    return list(db.session.scalars(access.scope(select(Site), Site.id).order_by(Site.code)))


def init_templating(app: Flask) -> None:
    app.jinja_env.filters["local_time"] = local_time

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"can": access.can, "Permission": Permission, "my_sites": my_sites}
