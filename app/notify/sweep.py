"""The sweep: recompute every visit's status in set-based SQL, record the changes that ask
for someone's attention, and turn them into reminders for the site's coordinators.
Idempotent: a second run changes nothing.

Only changes into upcoming, due, overdue or missed are recorded in visit_status_changes: a
visit becoming completed, not done or cancelled follows a coordinator's action, which has
its audit rows already. That keeps the first sweep of a network whose statuses were never
computed (an import) close to the cost of the UPDATE itself (docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, insert, literal, or_, select, update
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
        moves = _Moves(site, local, now)
        reminders = _remind(session, moves)  # before the UPDATE: it reads the old statuses
        _log(session, moves)
        changed = session.execute(update(Visit).where(moves.differs)
                                  .values(status=moves.new_status)
                                  .execution_options(synchronize_session=False)).rowcount
        report.changes += changed
        report.reminders += reminders
        report.by_site[site.code] = changed
    return report


def awaiting(today: date, lead_days: int) -> ColumnElement[bool]:
    """Visits whose status is upcoming, due, overdue or missed on `today`: open, and no
    longer merely scheduled (the partial index ix_visits_open finds them)."""
    return and_(Visit.actual_date.is_(None), Visit.not_done_reason.is_(None),
                Visit.cancelled_at.is_(None),
                Visit.window_start <= today + timedelta(days=lead_days))


class _Moves:
    """One site's status changes on its local date, as SQL expressions."""

    def __init__(self, site: Site, today: date, now: datetime) -> None:
        self.site, self.today, self.now = site, today, now
        self.new_status = status_expression(today, site.reminder_lead_days)
        self.differs = and_(Visit.site_id == site.id, Visit.status != self.new_status)
        self.noticed = and_(self.differs, awaiting(today, site.reminder_lead_days))


def _log(session: Session, moves: _Moves) -> None:
    rows = select(Visit.id, Visit.site_id, Visit.status, moves.new_status, literal(moves.today),
                  literal(moves.now, VisitStatusChange.changed_at.type)).where(moves.noticed)
    session.execute(insert(VisitStatusChange).from_select(
        ["visit_id", "site_id", "old_status", "new_status", "local_date", "changed_at"], rows))


def _remind(session: Session, moves: _Moves) -> int:
    """A reminder per new notified status and coordinator of the site (and study)."""
    kinds = [k for k in REMINDED if k in moves.site.kinds]
    if not kinds:
        return 0
    rows = (
        select(Visit.id, moves.new_status, RoleGrant.user_id, Visit.site_id,
               literal(moves.today), literal(moves.now, Reminder.created_at.type))
        .join(Participant, Participant.id == Visit.participant_id)
        .join(RoleGrant, and_(RoleGrant.site_id == Visit.site_id,
                              RoleGrant.role == Role.COORDINATOR.value,
                              RoleGrant.revoked_at.is_(None),
                              or_(RoleGrant.study_id.is_(None),
                                  RoleGrant.study_id == Participant.study_id)))
        .join(User, and_(User.id == RoleGrant.user_id, User.active.is_(True)))
        .where(moves.noticed, moves.new_status.in_(kinds))
        .distinct()
    )
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite_insert
    result = session.execute(
        dialect_insert(Reminder)
        .from_select(["visit_id", "status", "user_id", "site_id", "local_date", "created_at"],
                     rows)
        .on_conflict_do_nothing(),
        execution_options={"preserve_rowcount": True},  # an INSERT's count is kept only so
    )
    return max(result.rowcount, 0)
