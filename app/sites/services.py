"""Creating and changing sites."""

from __future__ import annotations

from zoneinfo import available_timezones

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.auth.models import User
from app.sites.models import Site


class SiteError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def create_site(session: Session, *, code: str, name: str, timezone: str,
                actor: User | None) -> Site:
    code = code.strip().upper()
    if timezone not in available_timezones():
        raise SiteError(f"Unknown time zone {timezone!r}.", "timezone")
    if session.scalar(select(Site.id).where(Site.code == code)) is not None:
        raise SiteError(f"A site with code {code} exists.", "code")
    site = Site(code=code, name=name.strip(), timezone=timezone)
    audit.create(session, site, actor=actor)
    return site


def find_site(session: Session, code: str) -> Site | None:
    return session.scalar(select(Site).where(Site.code == code.strip().upper()))
