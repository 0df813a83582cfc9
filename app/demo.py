"""Demo sites and accounts for `make run`: created once, printed every time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.auth import services as accounts
from app.domain.access import Role
from app.sites import services as sites

DEMO_PASSWORD = "lupus-demo-2026"

DEMO_SITES = (
    ("SEOUL", "Demo Site · Seoul", "Asia/Seoul"),
    ("BERLIN", "Demo Site · Berlin", "Europe/Berlin"),
)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    full_name: str
    role: Role
    site: str | None


DEMO_ACCOUNTS = (
    DemoAccount("admin", "Ada Admin", Role.ADMIN, None),
    DemoAccount("coordinator", "Chris Coordinator", Role.COORDINATOR, "SEOUL"),
    DemoAccount("investigator", "Ivy Investigator", Role.INVESTIGATOR, "SEOUL"),
    DemoAccount("monitor", "Max Monitor", Role.MONITOR, "SEOUL"),
    DemoAccount("datamanager", "Dana Datamanager", Role.DATA_MANAGER, None),
    DemoAccount("coordinator-berlin", "Bo Coordinator", Role.COORDINATOR, "BERLIN"),
)


def ensure_demo(session: Session) -> list[DemoAccount]:
    """Create what is missing; returns the accounts created now."""
    for code, name, tz in DEMO_SITES:
        if sites.find_site(session, code) is None:
            sites.create_site(session, code=code, name=name, timezone=tz, actor=None)
    created = []
    for acct in DEMO_ACCOUNTS:
        if accounts.find_user(session, acct.username) is not None:
            continue
        user = accounts.create_user(
            session, username=acct.username, email=f"{acct.username}@example.org",
            full_name=acct.full_name, password=DEMO_PASSWORD, actor=None,
        )
        site = sites.find_site(session, acct.site) if acct.site else None
        accounts.grant_role(session, user, acct.role, site=site, study=None, actor=None)
        created.append(acct)
    return created
