"""The trial network the benchmarks run on: its shape, and its sites, staff and studies.

Sites and accounts go through the application's own services (audited, passwords hashed
by the policy), studies through the loader: only participants, visits and CRF data are
bulk-written (bench.histories, bench.crfdata), because there are a hundred thousand of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import chain  # noqa: F401 - hash-chains the audit rows written here
from app.auth import services as accounts
from app.auth.models import User
from app.domain.access import Role
from app.domain.definitions import Protocol
from app.sites import services as sites
from app.sites.models import Site
from app.studies import services as studies
from app.studies.models import ProtocolVersion
from bench import study as bench_study

PASSWORD = "bench-network-2026"  # every generated account's password
ZONES = ("Asia/Seoul", "Europe/Berlin", "America/New_York", "Asia/Shanghai", "Europe/London",
         "America/Los_Angeles", "Australia/Sydney", "Asia/Tokyo")
# Share of participants per study: about 15 planned visits each on average.
STUDY_SHARES = (("CS20AT04", 0.45), ("CD19CART-SLE", 0.35), ("UCMSC-LN", 0.10),
                ("ALLOMSC-SLE", 0.10))


@dataclass(frozen=True)
class Shape:
    """How big the network is, and where CRF data is written."""

    sites: int = 40
    participants: int = 100_000
    crf_study: str | None = "UCMSC-LN"  # every done visit of this study gets its CRFs
    bench_participants: int = 400  # BENCH40 participants, visits planned and CRFs empty
    years: int = 3  # enrolment runs over this many years up to today
    seed: int = 2026
    today: date = field(default_factory=date.today)


@dataclass(frozen=True)
class Staff:
    coordinator: int  # user id
    investigator: int


@dataclass
class Network:
    sites: list[Site]
    staff: dict[int, Staff]  # by site id
    versions: dict[str, ProtocolVersion]  # by study code
    protocols: dict[str, Protocol]
    data_manager: int


def site_code(n: int) -> str:
    return f"S{n:03d}"


def build(session: Session, shape: Shape) -> Network:
    """Sites with a coordinator and an investigator each, a data manager, the studies."""
    versions, protocols = _studies(session)
    made: list[Site] = []
    staff: dict[int, Staff] = {}
    for n in range(1, shape.sites + 1):
        site = sites.create_site(session, code=site_code(n), name=f"Bench site {n}",
                                 timezone=ZONES[(n - 1) % len(ZONES)], actor=None)
        site.reminder_digest = n % 4 != 0  # every fourth site: one email per visit
        session.flush()
        coordinator = _user(session, f"coord-{site.code}", Role.COORDINATOR, site)
        investigator = _user(session, f"inv-{site.code}", Role.INVESTIGATOR, site)
        made.append(site)
        staff[site.id] = Staff(coordinator.id, investigator.id)
    manager = _user(session, "datamanager", Role.DATA_MANAGER, None)
    session.flush()
    return Network(made, staff, versions, protocols, manager.id)


def _user(session: Session, username: str, role: Role, site: Site | None) -> User:
    user = accounts.create_user(session, username=username, email=f"{username}@bench.example",
                                full_name=f"Bench {username}", password=PASSWORD, actor=None)
    accounts.grant_role(session, user, role, site=site, study=None, actor=None)
    return user


def _studies(session: Session) -> tuple[dict[str, ProtocolVersion], dict[str, Protocol]]:
    from app.config import PROJECT_ROOT

    protocols = studies.read_definitions(PROJECT_ROOT / "schedules", PROJECT_ROOT / "forms")
    protocols.append(bench_study.protocol())
    versions = {}
    for protocol in protocols:
        studies.store(session, protocol)
        versions[protocol.study.code] = session.scalar(
            select(ProtocolVersion).join(ProtocolVersion.study)
            .where(ProtocolVersion.content_hash == protocol.content_hash))
    return versions, {p.study.code: p for p in protocols}
