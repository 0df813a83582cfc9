"""Demo sites and accounts for `make run`: created once, printed every time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import services as accounts
from app.auth.models import User
from app.domain.access import Role
from app.participants.models import Participant
from app.screening import services as screening
from app.screening.models import ScreeningStatus
from app.sites import services as sites
from app.sites.models import Site
from app.studies.models import ProtocolVersion, Study
from app.studies.services import latest_version, protocol_of
from app.visits import services as visits

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


def enrol_without_screening(session: Session, site: Site, version: ProtocolVersion, number: str,
                            start: date, actor: User, subgroup: str | None = None) -> Participant:
    """A participant planned from `start`, its screening closed as enrolled without data.

    Demo data and tests only: the real path is screening, verdict and enrolment.
    """
    record = screening.start(session, version, site, number, actor=actor)
    record.status, record.subgroup = ScreeningStatus.ENROLLED.value, subgroup
    arms = protocol_of(version).study.arms
    participant = Participant(site_id=site.id, study_id=version.study_id,
                              protocol_version_id=version.id, screening_id=record.id,
                              participant_code=f"{site.code}-{number}", subgroup=subgroup,
                              enrolled_by_id=actor.id,
                              arm=arms[0].code if len(arms) == 1 else None)
    session.add(participant)
    session.flush()
    session.refresh(participant, ["protocol_version", "site"])
    visits.generate(session, participant, start, actor=actor)
    return participant


def ensure_demo_participants(session: Session) -> int:
    """Three CS20AT04 participants at SEOUL at different points of their plan, once."""
    if session.scalar(select(Participant.id).limit(1)) is not None:
        return 0
    study = session.scalar(select(Study).where(Study.code == "CS20AT04"))
    seoul = sites.find_site(session, "SEOUL")
    actor = accounts.find_user(session, "coordinator")
    if study is None or seoul is None or actor is None:
        return 0
    version = latest_version(session, study.id)
    today = visits.site_today(seoul)
    for n, days_ago in enumerate((90, 30, 3), start=1):
        enrol_without_screening(session, seoul, version, f"DEMO{n}",
                                today - timedelta(days=days_ago), actor,
                                subgroup="LN" if n % 2 else "LC")
    return 3


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
