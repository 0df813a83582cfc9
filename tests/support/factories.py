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


def enrolled(session: Session, site_: Site, study_code: str, start, actor: User,
             number: str = "SCR-1", subgroup: str | None = None):
    """A participant of a seed study enrolled on `start`, with visits planned from it.

    Screening is skipped (its own tests cover it): the screening is closed as enrolled.
    """
    from sqlalchemy import select

    from app.config import PROJECT_ROOT
    from app.demo import enrol_without_screening
    from app.studies import services as study_services
    from app.studies.models import Study

    study = session.scalar(select(Study).where(Study.code == study_code))
    if study is None:
        for protocol in study_services.read_definitions(PROJECT_ROOT / "schedules",
                                                        PROJECT_ROOT / "forms"):
            study_services.store(session, protocol)
        study = session.scalar(select(Study).where(Study.code == study_code))
    version = study_services.latest_version(session, study.id)
    return enrol_without_screening(session, site_, version, number, start, actor, subgroup)
