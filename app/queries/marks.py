"""What other pages show of queries: the queries on a CRF (once per page, whatever the number
of items), and a participant's open queries (the participant list counts its page's itself).

Registered as template globals by the blueprint, so pages owned by other domains only
include a partial and their views pass nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, url_for

from app import access
from app.crf.models import CrfEntry
from app.db import db
from app.domain.access import Permission
from app.domain.queries import is_unresolved
from app.locks import services as locks
from app.queries import services
from app.queries.models import Query


@dataclass(frozen=True)
class CrfQueries:
    entry_id: int
    queries: list[Query]
    may_raise: bool  # the user may raise queries here, and no lock forbids it

    def on(self, item_code: str) -> list[Query]:
        """The item's queries that are not closed."""
        return [q for q in self.queries if q.item_code == item_code and is_unresolved(q.status)]

    def raise_url(self, item_code: str) -> str:
        return url_for("queries.new", entry_id=self.entry_id, item_code=item_code)

    @property
    def unresolved(self) -> int:
        return sum(1 for q in self.queries if is_unresolved(q.status))


def crf_queries(entry: CrfEntry | None) -> CrfQueries | None:
    """The queries on a CRF the page already showed it may see (None: nothing saved yet)."""
    if entry is None or entry.id is None:
        return None
    cache = g.setdefault("crf_queries", {})
    if entry.id not in cache:
        study_id = services.study_of(db.session, entry)
        may_raise = access.can(Permission.RAISE_QUERY, entry.site_id, study_id) \
            and locks.lock_over(db.session, entry) is None
        cache[entry.id] = CrfQueries(entry.id, services.on_entry(db.session, entry.id),
                                     may_raise)
    return cache[entry.id]


def participant_open_queries(participant_id: int) -> int:
    counts = services.open_per_participant(db.session, Query.participant_id == participant_id,
                                           access.site_filter(Query.site_id, Query.study_id))
    return counts.get(participant_id, 0)


TEMPLATE_GLOBALS = (crf_queries, participant_open_queries)
