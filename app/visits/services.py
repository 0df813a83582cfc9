"""A participant's visits: generated from the protocol, moved by events, done, withdrawn."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.auth.models import User
from app.domain.schedule import (
    OPEN_STATUSES,
    AnchorKind,
    Move,
    Schedule,
    Status,
    plan,
    reanchor,
    status,
)
from app.locks import services as locks
from app.model_base import utcnow
from app.participants.models import Participant
from app.signatures import services as signatures
from app.sites.models import Site
from app.studies.services import protocol_of
from app.visits.models import Deviation, ParticipantEvent, Visit


class VisitError(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def site_today(site: Site, now: datetime | None = None) -> date:
    """Today's date where the site is: what statuses and day counts use."""
    return (now or utcnow()).astimezone(ZoneInfo(site.timezone)).date()


def schedule_of(participant: Participant) -> Schedule:
    return protocol_of(participant.protocol_version).study.schedule


def root_kind(schedule: Schedule) -> AnchorKind | None:
    root = next((a for a in schedule.anchors if a.planned_from is None), None)
    return root.kind if root else None


def generate(session: Session, participant: Participant, start: date, *,
             actor: User | None) -> list[Visit]:
    """Store the participant's planned visits, counted from `start` (day 0)."""
    if participant.start_date is not None:
        raise VisitError(f"{participant.participant_code} already has a schedule.")
    audit.update(session, participant, {"start_date": start}, actor=actor,
                 reason="schedule generated", require_reason=False)
    visits = [Visit(participant_id=participant.id, site_id=participant.site_id, code=p.code,
                    name=p.name, anchor=p.anchor, target_date=p.target,
                    window_start=p.window_start, window_end=p.window_end,
                    window_ours=p.window_ours)
              for p in plan(schedule_of(participant), start)]
    session.add_all(visits)
    session.flush()
    audit.record_event(session, "schedule_generated", actor=actor, entity_type="participants",
                       entity_id=participant.id, site_id=participant.site_id,
                       detail=f"{len(visits)} visits from {start.isoformat()}")
    return visits


def events_of(session: Session, participant: Participant) -> dict[str, date]:
    rows = session.scalars(select(ParticipantEvent)
                           .where(ParticipantEvent.participant_id == participant.id))
    return {row.code: row.actual_date for row in rows}


def with_status(visits: list[Visit], today: date, lead_days: int) -> list[tuple[Visit, Status]]:
    return [(v, visit_status(v, today, lead_days)) for v in visits]


def visit_status(visit: Visit, today: date, lead_days: int) -> Status:
    return status(visit.window_start, visit.target_date, visit.window_end, today, lead_days,
                  actual=visit.actual_date, not_done=visit.not_done_reason is not None,
                  cancelled=visit.cancelled_at is not None)


@dataclass(frozen=True)
class PendingMove:
    """Entering this date moves other visits: shown to the coordinator before it is saved."""

    event: str
    actual_date: date
    moves: list[Move]


def check_date(actual_date: date, today: date) -> None:
    if actual_date > today:
        raise VisitError("A visit date cannot be in the future.", "actual_date")


def preview_date(session: Session, visit: Visit, actual_date: date) -> PendingMove | None:
    """The visits that would move if this visit (which records an event) were on that date."""
    participant = visit.participant
    event = _recorded_event(visit)
    if event is None:
        return None
    done = {v.code for v in participant.visits if v.actual_date is not None}
    moves = reanchor(schedule_of(participant), participant.start_date,
                     events_of(session, participant), event, actual_date, done | {visit.code})
    return PendingMove(event, actual_date, moves) if moves else None


def _recorded_event(visit: Visit) -> str | None:
    if visit.unscheduled:
        return None
    return schedule_of(visit.participant).visit(visit.code).records


def record_date(session: Session, visit: Visit, actual_date: date, *, actor: User,
                reason: str | None = None, today: date | None = None) -> list[Move]:
    """The visit happened on `actual_date`; an event it records moves the visits after it."""
    participant = visit.participant
    locks.ensure_participant_unlocked(session, participant)
    if participant.withdrawn_at is not None and visit.cancelled_at is not None:
        raise VisitError("This visit was cancelled at withdrawal.")
    if today is not None:
        check_date(actual_date, today)
    moves: list[Move] = []
    pending = preview_date(session, visit, actual_date)
    audit.update(session, visit, {"actual_date": actual_date}, actor=actor, reason=reason,
                 require_reason=visit.actual_date is not None)
    event = _recorded_event(visit)
    if event is not None:
        _store_event(session, participant, event, actual_date, actor)
    if pending is not None:
        moves = pending.moves
        _apply_moves(session, participant, moves, event, actual_date, actor)
    visit.status = visit_status(visit, actual_date, 0).value
    _check_window(session, visit, actor)
    signatures.invalidate_visit(session, visit, actor)
    return moves


def _store_event(session: Session, participant: Participant, code: str, on: date,
                 actor: User) -> None:
    row = session.scalar(select(ParticipantEvent).where(
        ParticipantEvent.participant_id == participant.id, ParticipantEvent.code == code))
    if row is None:
        session.add(ParticipantEvent(participant_id=participant.id, code=code, actual_date=on,
                                     recorded_by_id=actor.id))
    else:
        row.actual_date, row.recorded_by_id = on, actor.id
    audit.record_event(session, "event_recorded", actor=actor, entity_type="participants",
                       entity_id=participant.id, site_id=participant.site_id,
                       detail=f"{code} on {on.isoformat()}")


def _apply_moves(session: Session, participant: Participant, moves: list[Move], event: str,
                 on: date, actor: User) -> None:
    by_code = {v.code: v for v in participant.visits}
    why = f"re-anchored: {event} happened on {on.isoformat()}"
    for move in moves:
        audit.update(session, by_code[move.code], {
            "target_date": move.new.target, "window_start": move.new.window_start,
            "window_end": move.new.window_end}, actor=actor, reason=why)


def _check_window(session: Session, visit: Visit, actor: User) -> None:
    """One open deviation per visit done out of window; a corrected date updates or resolves it."""
    open_ = session.scalar(select(Deviation).where(
        Deviation.visit_id == visit.id, Deviation.kind == "visit_out_of_window",
        Deviation.resolved_at.is_(None)))
    in_window = visit.window_start <= visit.actual_date <= visit.window_end
    if in_window and open_ is None:
        return
    if in_window:
        open_.resolved_at = utcnow()
        detail = (f"{visit.code} date corrected to {visit.actual_date.isoformat()}, "
                  "inside its window")
        audit.record_event(session, "deviation_resolved", actor=actor, entity_type="visits",
                           entity_id=visit.id, site_id=visit.site_id, detail=detail)
        return
    detail = (f"{visit.code} done on {visit.actual_date.isoformat()}, outside its window "
              f"{visit.window_start.isoformat()} – {visit.window_end.isoformat()}")
    if open_ is None:
        session.add(Deviation(participant_id=visit.participant_id, site_id=visit.site_id,
                              visit_id=visit.id, kind="visit_out_of_window", detail=detail,
                              recorded_by_id=actor.id))
    else:
        open_.detail = detail
    audit.record_event(session, "deviation", actor=actor, entity_type="visits",
                       entity_id=visit.id, site_id=visit.site_id, detail=detail)


def mark_not_done(session: Session, visit: Visit, reason: str, *, actor: User) -> None:
    locks.ensure_participant_unlocked(session, visit.participant)
    if not reason.strip():
        raise VisitError("Say why the visit was not done.", "reason")
    if visit.actual_date is not None:
        raise VisitError("This visit has a date: it was done.")
    audit.update(session, visit, {"not_done_reason": reason.strip()}, actor=actor,
                 reason=reason.strip())
    signatures.invalidate_visit(session, visit, actor)


def add_unscheduled(session: Session, participant: Participant, on: date, reason: str, *,
                    actor: User) -> Visit:
    """An extra visit; it never shifts the plan."""
    locks.ensure_participant_unlocked(session, participant)
    if not reason.strip():
        raise VisitError("Say why this unscheduled visit takes place.", "reason")
    count = session.scalar(select(func.count()).select_from(Visit).where(
        Visit.participant_id == participant.id, Visit.unscheduled.is_(True))) or 0
    visit = Visit(participant_id=participant.id, site_id=participant.site_id,
                  code=f"UNS{count + 1}", name=f"Unscheduled visit {count + 1}: {reason.strip()}",
                  anchor=None, target_date=on, window_start=on, window_end=on, unscheduled=True)
    audit.create(session, visit, actor=actor, reason=reason.strip())
    return visit


def withdraw(session: Session, participant: Participant, reason: str, *, actor: User,
             today: date) -> list[Visit]:
    """Cancel every open visit but the safety follow-ups the protocol keeps."""
    locks.ensure_participant_unlocked(session, participant)
    if participant.withdrawn_at is not None:
        raise VisitError(f"{participant.participant_code} is already withdrawn.")
    if not reason.strip():
        raise VisitError("Give the reason for withdrawal.", "reason")
    schedule = schedule_of(participant)
    keep = {v.code for v in schedule.visits if v.safety}
    audit.update(session, participant, {"withdrawal_reason": reason.strip()}, actor=actor,
                 reason=reason.strip())
    participant.withdrawn_at = utcnow()
    cancelled = []
    for visit in participant.visits:
        # a visit already missed stays missed; one that could still happen is cancelled
        open_ = visit_status(visit, today, 0) in OPEN_STATUSES and \
            visit_status(visit, today, 0) is not Status.MISSED
        if open_ and visit.code not in keep and not visit.unscheduled:
            visit.cancelled_at = utcnow()
            audit.update(session, visit, {"status": Status.CANCELLED.value}, actor=actor,
                         reason=f"withdrawal: {reason.strip()}")
            cancelled.append(visit)
    return cancelled
