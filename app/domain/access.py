"""Who may do what where: roles, permissions and grants, decided without a database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    DATA_MANAGER = "data_manager"
    INVESTIGATOR = "investigator"
    COORDINATOR = "coordinator"
    MONITOR = "monitor"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Permission(StrEnum):
    VIEW_SITE = "view_site"  # see a site, its participants and calendars
    ENTER_DATA = "enter_data"  # screen, enroll, fill CRFs, record visits
    SIGN = "sign"  # electronic signature of CRFs and visits
    RAISE_QUERY = "raise_query"  # open and close data clarification queries
    LOCK = "lock"  # lock CRFs, participants, studies
    EXPORT = "export"  # CDISC ODM and CSV exports
    MANAGE_STUDY = "manage_study"  # load protocols, hold the randomization seed
    ADMINISTER = "administer"  # users, sites and role grants


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.DATA_MANAGER: frozenset(
        {Permission.VIEW_SITE, Permission.LOCK, Permission.EXPORT, Permission.MANAGE_STUDY,
         Permission.RAISE_QUERY}
    ),
    Role.INVESTIGATOR: frozenset({Permission.VIEW_SITE, Permission.ENTER_DATA, Permission.SIGN}),
    Role.COORDINATOR: frozenset({Permission.VIEW_SITE, Permission.ENTER_DATA}),
    Role.MONITOR: frozenset({Permission.VIEW_SITE, Permission.RAISE_QUERY}),
}


@dataclass(frozen=True)
class Grant:
    """A role held at one site (or every site when `site_id` is None) for one study or all."""

    role: Role
    site_id: int | None = None
    study_id: int | None = None

    def covers(self, site_id: int | None, study_id: int | None) -> bool:
        site_ok = self.site_id is None or self.site_id == site_id
        study_ok = self.study_id is None or study_id is None or self.study_id == study_id
        return site_ok and study_ok


@dataclass(frozen=True)
class SiteScope:
    """The sites a user may see: all of them, or an explicit set."""

    all_sites: bool
    site_ids: frozenset[int]

    def includes(self, site_id: int | None) -> bool:
        return self.all_sites or (site_id is not None and site_id in self.site_ids)


def site_scope(grants: Iterable[Grant], permission: Permission = Permission.VIEW_SITE,
               study_id: int | None = None) -> SiteScope:
    """The sites where `permission` is held (for `study_id`, when given)."""
    ids: set[int] = set()
    for grant in grants:
        if permission not in ROLE_PERMISSIONS[grant.role]:
            continue
        if study_id is not None and grant.study_id not in (None, study_id):
            continue
        if grant.site_id is None:
            return SiteScope(True, frozenset())
        ids.add(grant.site_id)
    return SiteScope(False, frozenset(ids))


def allows(
    grants: Iterable[Grant],
    permission: Permission,
    site_id: int | None = None,
    study_id: int | None = None,
    *,
    anywhere: bool = False,
) -> bool:
    """True when some grant gives `permission` at that site and study.

    With `anywhere`, the question is whether the user holds the permission at any site
    at all (used to decide whether a page or menu entry exists for them).
    """
    for grant in grants:
        if permission not in ROLE_PERMISSIONS[grant.role]:
            continue
        if anywhere or grant.covers(site_id, study_id):
            return True
    return False
