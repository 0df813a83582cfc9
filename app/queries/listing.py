"""The query list: allow-listed filters and one statement for the rows, scoped to the user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort, request
from sqlalchemy import Select, case, select
from sqlalchemy.orm import Session

from app import access
from app.crf.models import CrfEntry
from app.domain.queries import QueryStatus
from app.participants.models import Participant
from app.queries.models import Query
from app.screening.models import Screening
from app.sites.models import Site
from app.studies.models import Study
from app.visits.models import Visit

# "" (the default) lists what still needs someone: open or answered.
STATUS_FILTERS = {"": "Open or answered", "open": "Open", "answered": "Answered",
                  "closed": "Closed", "all": "Any status"}


@dataclass(frozen=True)
class Filters:
    status: str = ""
    site: str | None = None
    study: str | None = None
    participant: Participant | None = None

    def args(self) -> dict[str, str]:
        given = {"status": self.status, "site": self.site, "study": self.study,
                 "participant": str(self.participant.id) if self.participant else None}
        return {k: v for k, v in given.items() if v}


@dataclass(frozen=True)
class Row:
    query: Query
    site_code: str
    timezone: str
    study_code: str
    subject: str
    visit_name: str | None
    form_code: str

    @property
    def opened_at(self) -> datetime:
        return self.query.opened_at


def choices(session: Session) -> tuple[list[Site], list[str]]:
    sites = list(session.scalars(access.scope(select(Site), Site.id).order_by(Site.code)))
    studies = list(session.scalars(select(Study.code).order_by(Study.code)))
    return sites, studies


def filters(session: Session, sites: list[Site], studies: list[str]) -> Filters:
    """Only known values are accepted: anything else is a 404, never part of a statement."""
    status, site, study, who = (request.args.get(k) or None
                                for k in ("status", "site", "study", "participant"))
    if (status or "") not in STATUS_FILTERS:
        abort(404)
    if site and site not in {s.code for s in sites}:
        abort(404)
    if study and study not in studies:
        abort(404)
    participant = None
    if who:
        if not who.isdigit():
            abort(404)
        participant = access.get_or_404(
            session, select(Participant).where(Participant.id == int(who)),
            lambda p: p.site_id, lambda p: p.study_id)
    return Filters(status or "", site, study, participant)


def statement(f: Filters) -> Select:
    stmt = (select(Query, Site.code, Site.timezone, Study.code, Participant.participant_code,
                   Screening.screening_number, Visit.name, CrfEntry.form_code)
            .join(Site, Site.id == Query.site_id)
            .join(Study, Study.id == Query.study_id)
            .join(CrfEntry, CrfEntry.id == Query.entry_id)
            .outerjoin(Participant, Participant.id == Query.participant_id)
            .outerjoin(Screening, Screening.id == CrfEntry.screening_id)
            .outerjoin(Visit, Visit.id == CrfEntry.visit_id))
    stmt = access.scope(stmt, Query.site_id, Query.study_id)
    if f.status == "":
        stmt = stmt.where(Query.status != QueryStatus.CLOSED.value)
    elif f.status != "all":
        stmt = stmt.where(Query.status == f.status)
    if f.site:
        stmt = stmt.where(Site.code == f.site)
    if f.study:
        stmt = stmt.where(Study.code == f.study)
    if f.participant is not None:
        stmt = stmt.where(Query.participant_id == f.participant.id)
    first = case({s.value: n for n, s in enumerate(QueryStatus)}, value=Query.status)
    return stmt.order_by(first, Query.updated_at.desc(), Query.id.desc())


def rows(session: Session, f: Filters) -> list[Row]:
    """Open queries first, then answered, then closed; the latest activity first in each."""
    return [Row(query, site, tz, study, code or f"Screening {number}", visit, form)
            for query, site, tz, study, code, number, visit, form
            in session.execute(statement(f))]
