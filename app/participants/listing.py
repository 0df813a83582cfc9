"""The participant list, a page at a time: a network holds a hundred thousand participants.

Three statements per page whatever the number of participants: the count, the page's rows
(newest enrolment first) and the open queries of the participants on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.participants.models import Participant
from app.queries import services as queries
from app.queries.models import Query
from app.sites.models import Site
from app.studies.models import Study

PAGE_SIZE = 50


@dataclass(frozen=True)
class Row:
    id: int
    code: str
    study: str
    site: str
    timezone: str
    subgroup: str | None
    arm: str | None
    enrolled_at: datetime
    open_queries: int = 0


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    number: int  # 1-based
    total: int  # participants matching, on every page

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    @property
    def first_shown(self) -> int:
        return (self.number - 1) * PAGE_SIZE + 1 if self.rows else 0


def page(session: Session, visible: ColumnElement[bool], query_scope: ColumnElement[bool],
         number: int, code: str | None = None) -> Page:
    """Page `number` of the participants `visible` selects (`code`: part of the ID)."""
    where = [visible]
    if code:
        where.append(Participant.participant_code.icontains(code, autoescape=True))
    total = session.scalar(select(func.count(Participant.id)).where(*where)) or 0
    stmt = (select(Participant.id, Participant.participant_code, Study.code, Site.code,
                   Site.timezone, Participant.subgroup, Participant.arm, Participant.enrolled_at)
            .join(Study, Study.id == Participant.study_id)
            .join(Site, Site.id == Participant.site_id)
            .where(*where)
            .order_by(Participant.enrolled_at.desc(), Participant.id.desc())
            .limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE))
    found = session.execute(stmt).all()
    counts = queries.open_per_participant(
        session, Query.participant_id.in_([r[0] for r in found]), query_scope) if found else {}
    return Page([Row(*r, open_queries=counts.get(r[0], 0)) for r in found], number, total)
