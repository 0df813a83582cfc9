"""What a feed's owner may see, decided from their grants, for a request nobody is signed in to.

`app.access` scopes queries by the signed-in user; a calendar app fetching a feed is not
signed in, so the feed scopes by the token's owner with the same rules (`allows`,
`ROLE_PERMISSIONS`): one (site, study) pair per grant that lets them see a site.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, or_, true

from app.domain.access import ROLE_PERMISSIONS, Grant, Permission, allows


@dataclass(frozen=True)
class Visible:
    """Visits at `site_id` (None: every site) of `study_id` (None: every study)."""

    site_id: int | None
    study_id: int | None


def visible(grants: Iterable[Grant], site_id: int | None = None) -> list[Visible]:
    """Where the owner may see visits: all their sites, or only `site_id` for a site feed.

    Empty when they may see nothing there (a revoked grant, another site).
    """
    grants = list(grants)
    if site_id is not None and not allows(grants, Permission.VIEW_SITE, site_id):
        return []
    pairs: list[Visible] = []
    for grant in grants:
        if Permission.VIEW_SITE not in ROLE_PERMISSIONS[grant.role]:
            continue
        if site_id is None:
            pairs.append(Visible(grant.site_id, grant.study_id))
        elif grant.site_id in (None, site_id):
            pairs.append(Visible(site_id, grant.study_id))
    return list(dict.fromkeys(pairs))


def where_visible(pairs: Iterable[Visible], site_column: ColumnElement[int],
                  study_column: ColumnElement[int]) -> ColumnElement[bool]:
    """The SQL condition for rows in those (site, study) pairs; nothing when there are none."""
    clauses = [
        and_(true() if p.site_id is None else site_column == p.site_id,
             true() if p.study_id is None else study_column == p.study_id)
        for p in pairs
    ]
    return or_(*clauses) if clauses else false()
