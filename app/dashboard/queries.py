"""The dashboard's numbers: a fixed number of GROUP BY queries, each limited to the user's
sites (and studies) by `access.scope`. No query runs per participant or per visit."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    column,
    exists,
    func,
    select,
    values,
)
from sqlalchemy.orm import Session

from app import access
from app.crf.models import CrfEntry
from app.domain.charts import cumulative_by_month, percent
from app.domain.definitions import Protocol
from app.domain.schedule import Status
from app.participants.models import Participant
from app.queries import services as query_services
from app.queries.models import Query
from app.screening.models import Screening, ScreeningStatus
from app.sites.models import Site
from app.studies.models import ProtocolVersion, Study
from app.studies.services import protocol_of
from app.visits.models import Visit


@dataclass
class Counts:
    """One site's numbers (or, summed, every site the user may see)."""

    screened: int = 0
    in_screening: int = 0
    screen_failed: int = 0
    enrolled: int = 0
    withdrawn: int = 0
    done_in_window: int = 0
    done_out_of_window: int = 0
    missed: int = 0
    not_done: int = 0
    crf_visits: int = 0  # visits done whose schedule lists a form not yet started
    crf_forms: int = 0  # how many such forms
    open_queries: int = 0  # data clarification queries not yet closed (open or answered)

    @property
    def visits_done(self) -> int:
        return self.done_in_window + self.done_out_of_window

    @property
    def compliance(self) -> int | None:
        """% of done visits done inside their window (None: no visit done yet)."""
        return percent(self.done_in_window, self.visits_done)

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class SiteCounts:
    site: Site
    counts: Counts


@dataclass
class Breakdown:
    """Enrolled participants per sub-group or arm: (code, name, count)."""

    title: str
    rows: list[tuple[str, str, int]] = field(default_factory=list)


@dataclass
class StudyDashboard:
    study: Study
    protocol: Protocol  # the current version: title, target, sub-groups, arms
    version: ProtocolVersion
    sites: list[SiteCounts]
    total: Counts
    months: list[tuple[str, int, int]]  # ("YYYY-MM", new, cumulative)
    breakdowns: list[Breakdown]

    @property
    def target(self) -> int | None:
        return self.protocol.study.target_enrollment

    @property
    def target_percent(self) -> int | None:
        return percent(self.total.enrolled, self.target) if self.target else None


def study_versions(session: Session, study: Study) -> list[ProtocolVersion]:
    return list(session.scalars(select(ProtocolVersion)
                                .where(ProtocolVersion.study_id == study.id)
                                .order_by(ProtocolVersion.version)))


def enrolled_per_study(session: Session) -> dict[int, int]:
    """Participants at the user's sites, per study (the index page)."""
    stmt = access.scope(select(Participant.study_id, func.count()), Participant.site_id,
                        Participant.study_id).group_by(Participant.study_id)
    return {study_id: n for study_id, n in session.execute(stmt)}


def build(session: Session, study: Study, versions: list[ProtocolVersion], *,
          show_arms: bool, until: tuple[int, int]) -> StudyDashboard:
    """Everything the study's page shows, for the sites the user may see.

    `until` (year, month) is where the enrolment curve ends (this month), `show_arms` whether
    the user may see allocations (otherwise the arm is not even read).
    """
    current = versions[-1]
    protocol = protocol_of(current)
    per_site: dict[int, Counts] = {}

    def at(site_id: int) -> Counts:
        return per_site.setdefault(site_id, Counts())

    _screenings(session, study, at)
    subgroups, arms = _participants(session, study, at, show_arms)
    _visits(session, study, at)
    _crfs(session, study, versions, at)
    _queries(session, study, at)
    months = _months(session, study)

    visible = session.scalars(access.scope(select(Site), Site.id).order_by(Site.code))
    sites = [SiteCounts(site, per_site[site.id]) for site in visible if site.id in per_site]
    total = Counts()
    for row in sites:
        total.add(row.counts)
    breakdowns = []
    if protocol.study.subgroups:
        breakdowns.append(_breakdown("Sub-group", subgroups,
                                     {c.code: c.name for c in protocol.study.subgroups}))
    if show_arms and len(protocol.study.arms) > 1:
        breakdowns.append(_breakdown("Arm", arms, {c.code: c.name for c in protocol.study.arms},
                                     none="not yet randomized"))
    return StudyDashboard(study=study, protocol=protocol, version=current, sites=sites,
                          total=total, months=cumulative_by_month(months, until),
                          breakdowns=breakdowns)


def _breakdown(title: str, counts: dict[str | None, int], names: dict[str, str],
               none: str = "none recorded") -> Breakdown:
    rows = [(code, name, counts.get(code, 0)) for code, name in names.items()]
    rows += [(code or "—", none if code is None else code, n)
             for code, n in sorted(counts.items(), key=lambda kv: kv[0] or "")
             if code not in names]
    return Breakdown(title, rows)


def _screenings(session: Session, study: Study, at) -> None:
    stmt = (select(Screening.site_id, Screening.status, func.count())
            .where(Screening.study_id == study.id)
            .group_by(Screening.site_id, Screening.status))
    for site_id, status, n in session.execute(access.scope(stmt, Screening.site_id,
                                                           Screening.study_id)):
        counts = at(site_id)
        counts.screened += n
        if status == ScreeningStatus.SCREEN_FAILED.value:
            counts.screen_failed += n
        elif status == ScreeningStatus.IN_PROGRESS.value:
            counts.in_screening += n


def _participants(session: Session, study: Study, at, show_arms: bool):
    """Enrolled and withdrawn per site; enrolled per sub-group and (when allowed) per arm."""
    keys: list[ColumnElement] = [Participant.site_id, Participant.subgroup]
    if show_arms:
        keys.append(Participant.arm)
    stmt = (select(*keys, func.count(), func.count(Participant.withdrawn_at))
            .where(Participant.study_id == study.id).group_by(*keys))
    subgroups: dict[str | None, int] = {}
    arms: dict[str | None, int] = {}
    for row in session.execute(access.scope(stmt, Participant.site_id, Participant.study_id)):
        site_id, subgroup = row[0], row[1]
        arm = row[2] if show_arms else None
        n, withdrawn = row[-2], row[-1]
        counts = at(site_id)
        counts.enrolled += n
        counts.withdrawn += withdrawn
        subgroups[subgroup] = subgroups.get(subgroup, 0) + n
        arms[arm] = arms.get(arm, 0) + n
    return subgroups, arms


def _visits(session: Session, study: Study, at) -> None:
    """Planned visits per site and status (the status as last computed by the sweep)."""
    stmt = (select(Visit.site_id, Visit.status, func.count())
            .join(Participant, Participant.id == Visit.participant_id)
            .where(Participant.study_id == study.id, Visit.unscheduled.is_(False))
            .group_by(Visit.site_id, Visit.status))
    for site_id, status, n in session.execute(access.scope(stmt, Visit.site_id,
                                                           Participant.study_id)):
        counts = at(site_id)
        if status == Status.COMPLETED.value:
            counts.done_in_window += n
        elif status == Status.COMPLETED_OUT_OF_WINDOW.value:
            counts.done_out_of_window += n
        elif status == Status.MISSED.value:
            counts.missed += n
        elif status == Status.NOT_DONE.value:
            counts.not_done += n


def required_forms(versions: list[ProtocolVersion]) -> list[tuple[int, str, str]]:
    """(protocol version id, visit code, form code) for every form each planned visit lists."""
    return [(version.id, visit.code, form)
            for version in versions
            for visit in protocol_of(version).study.schedule.visits
            for form in visit.forms]


def _crfs(session: Session, study: Study, versions: list[ProtocolVersion], at) -> None:
    """Visits with a date recorded and a form of their schedule without any entry: one query,
    joining the visits to the forms their protocol version lists (a VALUES table)."""
    rows = required_forms(versions)
    if not rows:
        return
    required = values(column("version_id", Integer), column("visit_code", String(40)),
                      column("form_code", String(40)), name="required_forms").data(rows)
    required = required.cte("required_forms")
    started = exists().where(CrfEntry.visit_id == Visit.id,
                             CrfEntry.form_code == required.c.form_code)
    stmt = (select(Visit.site_id, func.count(Visit.id.distinct()), func.count())
            .select_from(Visit)
            .join(Participant, Participant.id == Visit.participant_id)
            .join(required, and_(required.c.version_id == Participant.protocol_version_id,
                                 required.c.visit_code == Visit.code))
            .where(Participant.study_id == study.id, Visit.actual_date.is_not(None),
                   Visit.cancelled_at.is_(None), Visit.unscheduled.is_(False), ~started)
            .group_by(Visit.site_id))
    for site_id, visits, forms in session.execute(access.scope(stmt, Visit.site_id,
                                                               Participant.study_id)):
        counts = at(site_id)
        counts.crf_visits += visits
        counts.crf_forms += forms


def _queries(session: Session, study: Study, at) -> None:
    """Queries not yet closed on this study's data, per site: one GROUP BY."""
    for site_id, n in query_services.open_per_site(
            session, Query.study_id == study.id,
            access.site_filter(Query.site_id, Query.study_id)).items():
        at(site_id).open_queries += n


def _month_of(session: Session, moment: ColumnElement) -> ColumnElement[str]:
    """'YYYY-MM' of a UTC timestamp, in the database's own dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", moment), "YYYY-MM")
    return func.strftime("%Y-%m", moment)


def _months(session: Session, study: Study) -> dict[tuple[int, int], int]:
    """Participants enrolled per calendar month (UTC) of their enrolment."""
    # Grouped over a subquery's column: PostgreSQL would not match the SELECT and GROUP BY
    # copies of an expression carrying bound parameters.
    enrolled = access.scope(select(_month_of(session, Participant.enrolled_at).label("month"))
                            .where(Participant.study_id == study.id),
                            Participant.site_id, Participant.study_id).subquery()
    stmt = select(enrolled.c.month, func.count()).group_by(enrolled.c.month)
    out: dict[tuple[int, int], int] = {}
    for text, n in session.execute(stmt):
        year, mon = str(text).split("-")
        out[(int(year), int(mon))] = out.get((int(year), int(mon)), 0) + n
    return out
