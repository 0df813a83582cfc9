"""The sweep: recompute every visit's status in set-based SQL, record what changed, and turn
changes into reminders for the site's coordinators. Idempotent: a second run changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.auth.models import RoleGrant, User
from app.domain.access import Role
from app.domain.schedule import Status
from app.notify.models import Reminder, VisitStatusChange
from app.participants.models import Participant
from app.sites.models import Site
from app.visits.models import Visit
from app.visits.services import site_today

REMINDED = ("upcoming", "due", "overdue", "missed")


@dataclass
class SweepReport:
    changes: int = 0
    reminders: int = 0
    by_site: dict[str, int] = field(default_factory=dict)


def status_expression(today: date, lead_days: int) -> ColumnElement[str]:
    """The status of DESIGN.md as SQL, for the site-local date `today`."""
    done = Visit.actual_date.is_not(None)
    return case(
        (and_(done, Visit.actual_date >= Visit.window_start,
              Visit.actual_date <= Visit.window_end), Status.COMPLETED.value),
        (done, Status.COMPLETED_OUT_OF_WINDOW.value),
        (Visit.not_done_reason.is_not(None), Status.NOT_DONE.value),
        (Visit.cancelled_at.is_not(None), Status.CANCELLED.value),
        (Visit.window_start > today + timedelta(days=lead_days), Status.SCHEDULED.value),
        (Visit.window_start > today, Status.UPCOMING.value),
        (Visit.target_date >= today, Status.DUE.value),
        (Visit.window_end >= today, Status.OVERDUE.value),
        else_=Status.MISSED.value,
    )


def sweep(session: Session, now: datetime, today: date | None = None) -> SweepReport:
    """One pass over every site; `today` overrides each site's local date (operators, tests)."""
    report = SweepReport()
    for site in session.scalars(select(Site).order_by(Site.id)):
        local = today or site_today(site, now)
        first_change = (session.scalar(select(func.max(VisitStatusChange.id))) or 0) + 1
        changed = _update_site(session, site, local, now)
        report.changes += changed
        report.by_site[site.code] = changed
        if changed:
            report.reminders += _remind(session, site, first_change, now)
    return report


def _update_site(session: Session, site: Site, today: date, now: datetime) -> int:
    new_status = status_expression(today, site.reminder_lead_days)
    differs = and_(Visit.site_id == site.id, Visit.status != new_status)
    moved = select(Visit.id, Visit.site_id, Visit.status, new_status, literal(today),
                   literal(now, VisitStatusChange.changed_at.type)).where(differs)
    session.execute(insert(VisitStatusChange).from_select(
        ["visit_id", "site_id", "old_status", "new_status", "local_date", "changed_at"], moved))
    result = session.execute(update(Visit).where(differs).values(status=new_status)
                             .execution_options(synchronize_session=False))
    return result.rowcount


def _remind(session: Session, site: Site, first_change: int, now: datetime) -> int:
    """A reminder per new notified status and coordinator of the site (and study)."""
    kinds = [k for k in REMINDED if k in site.kinds]
    if not kinds:
        return 0
    rows = (
        select(VisitStatusChange.visit_id, VisitStatusChange.new_status, RoleGrant.user_id,
               VisitStatusChange.site_id, VisitStatusChange.local_date,
               literal(now, Reminder.created_at.type))
        .join(Visit, Visit.id == VisitStatusChange.visit_id)
        .join(Participant, Participant.id == Visit.participant_id)
        .join(RoleGrant, and_(RoleGrant.site_id == VisitStatusChange.site_id,
                              RoleGrant.role == Role.COORDINATOR.value,
                              RoleGrant.revoked_at.is_(None),
                              or_(RoleGrant.study_id.is_(None),
                                  RoleGrant.study_id == Participant.study_id)))
        .join(User, and_(User.id == RoleGrant.user_id, User.active.is_(True)))
        .where(VisitStatusChange.id >= first_change, VisitStatusChange.site_id == site.id,
               VisitStatusChange.new_status.in_(kinds))
        .distinct()
    )
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite_insert
    result = session.execute(
        dialect_insert(Reminder)
        .from_select(["visit_id", "status", "user_id", "site_id", "local_date", "created_at"],
                     rows)
        .on_conflict_do_nothing()
    )
    return max(result.rowcount, 0)
