"""Site calendars (month, week, agenda), today's worklist and the missed-visits list.

Every page runs one query for its visits (joined to participant, site and study), whatever the
number of visits; statuses are computed in Python for each site's local date (the same rule
as the sweep's, so a page is right even between two sweeps).
"""

from __future__ import annotations

import calendar as cal
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, render_template, request
from sqlalchemy import Row, select

from app import access
from app.access import access as rule
from app.db import db
from app.domain.access import Permission
from app.domain.schedule import Status, status
from app.model_base import utcnow
from app.participants.models import Participant
from app.sites.models import Site
from app.studies.models import Study
from app.visits.models import Visit
from app.visits.services import site_today

bp = Blueprint("calendar", __name__, url_prefix="/calendar")
WORKLIST = (Status.DUE, Status.OVERDUE)


# What a calendar entry shows of its visit (and what its status is computed from).
VISIT_COLUMNS = (Visit.id, Visit.code, Visit.name, Visit.anchor, Visit.target_date,
                 Visit.window_start, Visit.window_end, Visit.actual_date,
                 Visit.not_done_reason.is_not(None).label("not_done"),
                 Visit.cancelled_at.is_not(None).label("cancelled"))


@dataclass(frozen=True)
class Entry:
    """A visit as the calendar shows it."""

    visit: Row  # VISIT_COLUMNS, by name
    participant_code: str
    participant_id: int
    site_code: str
    study_code: str
    status: Status

    @property
    def is_event(self) -> bool:
        """Infusions and other anchor events: their visit carries the anchor's code."""
        return self.visit.anchor == self.visit.code


@dataclass(frozen=True)
class Filters:
    site: str | None
    study: str | None
    status: str | None

    def args(self) -> dict[str, str]:
        return {k: v for k, v in (("site", self.site), ("study", self.study),
                                  ("status", self.status)) if v}


def _filters(sites: list[Site], studies: list[str]) -> Filters:
    """Only known values are accepted: anything else is a 404, never part of a query."""
    site, study, state = (request.args.get(k) or None for k in ("site", "study", "status"))
    if site and site not in {s.code for s in sites}:
        abort(404)
    if study and study not in studies:
        abort(404)
    if state and state not in {s.value for s in Status}:
        abort(404)
    return Filters(site, study, state)


def _choices() -> tuple[list[Site], list[str]]:
    sites = list(db.session.scalars(access.scope(select(Site), Site.id).order_by(Site.code)))
    studies = list(db.session.scalars(select(Study.code).order_by(Study.code)))
    return sites, studies


def entries(filters: Filters, first: date, last: date) -> list[Entry]:
    """Visits whose window touches [first, last], for the user's sites and studies.

    Plain columns, not Visit objects: a month of a busy site is thousands of visits."""
    stmt = (
        select(*VISIT_COLUMNS, Participant.participant_code, Participant.id.label("pid"),
               Site.id.label("site_id"), Site.code.label("site_code"), Site.timezone,
               Site.reminder_lead_days, Study.code.label("study_code"))
        .join(Participant, Participant.id == Visit.participant_id)
        .join(Site, Site.id == Visit.site_id)
        .join(Study, Study.id == Participant.study_id)
        .where(Visit.window_start <= last, Visit.window_end >= first)
        .order_by(Visit.target_date, Site.code, Participant.participant_code, Visit.id)
    )
    stmt = access.scope(stmt, Visit.site_id, Participant.study_id)
    if filters.site:
        stmt = stmt.where(Site.code == filters.site)
    if filters.study:
        stmt = stmt.where(Study.code == filters.study)
    now = utcnow()
    today_at: dict[str, date] = {}
    result = []
    for row in db.session.execute(stmt):
        today = today_at.get(row.timezone) or today_at.setdefault(
            row.timezone, now.astimezone(ZoneInfo(row.timezone)).date())
        state = status(row.window_start, row.target_date, row.window_end, today,
                       row.reminder_lead_days, actual=row.actual_date,
                       not_done=row.not_done, cancelled=row.cancelled)
        if filters.status and state.value != filters.status:
            continue
        result.append(Entry(row, row.participant_code, row.pid, row.site_code, row.study_code,
                            state))
    return result


def _page(template: str, **context):
    sites, studies = _choices()
    filters = _filters(sites, studies)
    return filters, sites, studies, lambda **more: render_template(
        template, filters=filters, sites=sites, studies=studies,
        statuses=[s.value for s in Status], **context, **more)


def _day(name: str, default: date) -> date:
    try:
        return date.fromisoformat(request.args[name]) if request.args.get(name) else default
    except ValueError:
        abort(404)


@bp.route("/")
@rule(Permission.VIEW_SITE)
def month():
    filters, sites, _studies, render = _page("calendar/month.html")
    anchor = _day("date", _reference_today(sites, filters))
    weeks = cal.Calendar(firstweekday=0).monthdatescalendar(anchor.year, anchor.month)
    found = entries(filters, weeks[0][0], weeks[-1][-1])
    by_day: dict[date, list[Entry]] = {}
    for entry in found:
        by_day.setdefault(entry.visit.target_date, []).append(entry)
    first = anchor.replace(day=1)
    return render(weeks=weeks, by_day=by_day, anchor=anchor, today=_reference_today(sites,
                                                                                    filters),
                  previous=(first - timedelta(days=1)).replace(day=1),
                  following=(first + timedelta(days=32)).replace(day=1))


@bp.route("/week")
@rule(Permission.VIEW_SITE)
def week():
    filters, sites, _studies, render = _page("calendar/week.html")
    anchor = _day("date", _reference_today(sites, filters))
    monday = anchor - timedelta(days=anchor.weekday())
    days = [monday + timedelta(days=n) for n in range(7)]
    return render(days=days, rows=entries(filters, days[0], days[-1]), anchor=anchor,
                  today=_reference_today(sites, filters), previous=monday - timedelta(days=7),
                  following=monday + timedelta(days=7))


@bp.route("/agenda")
@rule(Permission.VIEW_SITE)
def agenda():
    filters, sites, _studies, render = _page("calendar/agenda.html")
    start = _day("date", _reference_today(sites, filters))
    end = start + timedelta(days=27)
    found = [e for e in entries(filters, start, end) if start <= e.visit.target_date <= end]
    grouped: dict[date, list[Entry]] = {}
    for entry in found:
        grouped.setdefault(entry.visit.target_date, []).append(entry)
    return render(grouped=grouped, start=start, end=end,
                  previous=start - timedelta(days=28), following=end + timedelta(days=1))


@bp.route("/worklist")
@rule(Permission.VIEW_SITE)
def worklist():
    """Today's work at each site: visits due or overdue on the site's own date."""
    filters, sites, _studies, render = _page("calendar/worklist.html")
    today = _reference_today(sites, filters)
    found = [e for e in entries(filters, today - timedelta(days=60), today + timedelta(days=1))
             if e.status in WORKLIST]
    return render(rows=found, title="Today's worklist", today=today,
                  empty="Nothing due or overdue today.")


@bp.route("/missed")
@rule(Permission.VIEW_SITE)
def missed():
    filters, sites, _studies, render = _page("calendar/worklist.html")
    today = _reference_today(sites, filters)
    found = [e for e in entries(filters, today - timedelta(days=730), today)
             if e.status is Status.MISSED]
    return render(rows=found, title="Missed visits", today=today, empty="No missed visits.")


def _reference_today(sites: list[Site], filters: Filters) -> date:
    """The filtered site's date, or the first of the user's sites (UTC if none)."""
    chosen = next((s for s in sites if s.code == filters.site), sites[0] if sites else None)
    return site_today(chosen) if chosen else date.today()
