"""Visit schedules: from a definition and anchor dates to planned visits, and their status.

Pure functions over dates. A visit's target is its anchor's date plus its offset in days; an
event that has not happened yet is planned from another anchor, so moving one event moves every
visit and every planned event that hangs from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class AnchorKind(StrEnum):
    ENROLLMENT = "enrollment"
    RANDOMIZATION = "randomization"
    EVENT = "event"


@dataclass(frozen=True)
class AnchorDef:
    code: str
    name: str
    kind: AnchorKind
    planned_from: str | None = None  # events: the anchor they are planned from
    planned_offset: int = 0


@dataclass(frozen=True)
class VisitDef:
    code: str
    name: str
    anchor: str
    offset: int
    before: int = 0
    after: int = 0
    window_ours: bool = False  # the protocol gives no window; we chose this one
    forms: tuple[str, ...] = ()
    records: str | None = None  # the event whose actual date this visit's date is
    safety: bool = False  # kept when the participant withdraws


@dataclass(frozen=True)
class Schedule:
    anchors: tuple[AnchorDef, ...] = ()
    visits: tuple[VisitDef, ...] = ()

    def anchor(self, code: str) -> AnchorDef:
        return next(a for a in self.anchors if a.code == code)

    def visit(self, code: str) -> VisitDef:
        return next(v for v in self.visits if v.code == code)


@dataclass(frozen=True)
class PlannedVisit:
    code: str
    name: str
    anchor: str
    target: date
    window_start: date
    window_end: date
    window_ours: bool = False

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "name": self.name, "anchor": self.anchor,
                "target": self.target.isoformat(), "window_start": self.window_start.isoformat(),
                "window_end": self.window_end.isoformat()}


def expand_repeat(code: str, name: str, start: int, every: int, until: int) -> list[tuple]:
    """(code, name, offset) for each repetition; `until` is included."""
    out = []
    for n, offset in enumerate(range(start, until + 1, every), start=1):
        fields = {"day": offset, "week": offset // 7, "month": offset // 30, "n": n}
        out.append((code.format(**fields), name.format(**fields), offset))
    return out


def anchor_dates(schedule: Schedule, start: date, actual: dict[str, date]) -> dict[str, date]:
    """Every anchor's date: actual where it happened, else planned from its own anchor.

    `start` is the enrolment (or randomization) date, the root every plan hangs from.
    """
    dates: dict[str, date] = {}

    def resolve(code: str, seen: tuple[str, ...] = ()) -> date:
        if code in dates:
            return dates[code]
        if code in seen:
            raise ValueError(f"anchors planned from each other: {' → '.join((*seen, code))}")
        anchor = schedule.anchor(code)
        if code in actual:
            value = actual[code]
        elif anchor.planned_from is None:
            value = start
        else:
            value = resolve(anchor.planned_from, (*seen, code)) + \
                timedelta(days=anchor.planned_offset)
        dates[code] = value
        return value

    for anchor in schedule.anchors:
        resolve(anchor.code)
    return dates


def plan(schedule: Schedule, start: date, actual: dict[str, date] | None = None) \
        -> list[PlannedVisit]:
    """The planned visits, in order of target date (then definition order)."""
    dates = anchor_dates(schedule, start, actual or {})
    visits = [_planned(v, dates[v.anchor]) for v in schedule.visits]
    order = {v.code: i for i, v in enumerate(schedule.visits)}
    return sorted(visits, key=lambda v: (v.target, order[v.code]))


def _planned(visit: VisitDef, anchor_date: date) -> PlannedVisit:
    target = anchor_date + timedelta(days=visit.offset)
    return PlannedVisit(visit.code, visit.name, visit.anchor, target,
                        target - timedelta(days=visit.before), target + timedelta(days=visit.after),
                        visit.window_ours)


@dataclass(frozen=True)
class Move:
    code: str
    old: PlannedVisit
    new: PlannedVisit


def reanchor(schedule: Schedule, start: date, actual: dict[str, date], event: str,
             new_date: date, done: set[str]) -> list[Move]:
    """The visits not yet done whose dates change when `event` happens on `new_date`."""
    before = {v.code: v for v in plan(schedule, start, actual)}
    after = plan(schedule, start, {**actual, event: new_date})
    return [Move(v.code, before[v.code], v) for v in after
            if v.code not in done and (v.target, v.window_start, v.window_end)
            != (before[v.code].target, before[v.code].window_start, before[v.code].window_end)]


class Status(StrEnum):
    SCHEDULED = "scheduled"
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    MISSED = "missed"
    COMPLETED = "completed"
    COMPLETED_OUT_OF_WINDOW = "completed_out_of_window"
    NOT_DONE = "not_done"
    CANCELLED = "cancelled"  # withdrawal: not missed, never to be done


OPEN_STATUSES = (Status.SCHEDULED, Status.UPCOMING, Status.DUE, Status.OVERDUE, Status.MISSED)


def status(window_start: date, target: date, window_end: date, today: date, lead_days: int,
           actual: date | None = None, not_done: bool = False, cancelled: bool = False) -> Status:
    """A visit's status on the site-local date `today` (the vocabulary of DESIGN.md)."""
    if actual is not None:
        in_window = window_start <= actual <= window_end
        return Status.COMPLETED if in_window else Status.COMPLETED_OUT_OF_WINDOW
    if not_done:
        return Status.NOT_DONE
    if cancelled:
        return Status.CANCELLED
    if today < window_start - timedelta(days=lead_days):
        return Status.SCHEDULED
    if today < window_start:
        return Status.UPCOMING
    if today <= target:
        return Status.DUE
    if today <= window_end:
        return Status.OVERDUE
    return Status.MISSED
