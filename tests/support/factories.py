"""Factories per domain: small functions that make valid rows with one call."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from app.auth import services as accounts
from app.auth.models import User
from app.domain.access import Role
from app.sites import services as sites
from app.sites.models import Site

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def site(session: Session, code: str | None = None, tz: str = "Asia/Seoul") -> Site:
    code = code or f"S{next(_seq)}"
    return sites.create_site(session, code=code, name=f"Site {code}", timezone=tz, actor=None)


def user(
    session: Session, username: str | None = None, role: Role | None = None,
    at: Site | None = None, password: str = PASSWORD,
) -> User:
    username = username or f"user{next(_seq)}"
    account = accounts.create_user(session, username=username, email=f"{username}@example.org",
                                   full_name=username.title(), password=password, actor=None)
    if role is not None:
        accounts.grant_role(session, account, role, site=at, study=None, actor=None)
    return account
