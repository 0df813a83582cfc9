"""Participants with realistic visit histories, as rows ready for bulk writing.

Each participant is enrolled (or randomized) on a day of the last few years at one site,
planned by the application's own scheduler (`app.domain.schedule.plan`), and lived through
up to today: infusions and other events happen on their planned day or a few days off (the
later visits move with them), most past visits are done in their window, some outside it
(a deviation), some not done, a few missed; some participants withdraw and their open
visits are cancelled. Every visit's stored status is left as planned (`scheduled`), as in
a network imported from another system: the first sweep computes them all, which is what the
sweep benchmark measures first.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain
from zoneinfo import ZoneInfo

from app.domain.definitions import Protocol
from app.domain.randomization import blocks, stratum_key
from app.domain.schedule import AnchorKind, PlannedVisit, Schedule, plan
from app.sites.models import Site
from bench.network import STUDY_SHARES, Network, Shape

SCREENING_COLUMNS = ("id", "site_id", "study_id", "protocol_version_id", "screening_number",
                     "subgroup", "status", "started_at", "started_by_id", "decided_at",
                     "decided_by_id", "version")
PARTICIPANT_COLUMNS = ("id", "site_id", "study_id", "protocol_version_id", "screening_id",
                       "participant_code", "subgroup", "arm", "enrolled_at", "enrolled_by_id",
                       "start_date", "withdrawn_at", "withdrawal_reason", "version")
EVENT_COLUMNS = ("id", "participant_id", "code", "actual_date", "recorded_at", "recorded_by_id")
VISIT_COLUMNS = ("id", "participant_id", "site_id", "code", "name", "anchor", "target_date",
                 "window_start", "window_end", "window_ours", "unscheduled", "actual_date",
                 "not_done_reason", "cancelled_at", "status", "created_at", "version")
DEVIATION_COLUMNS = ("id", "participant_id", "site_id", "visit_id", "kind", "detail",
                     "recorded_at", "recorded_by_id")
ASSIGNMENT_COLUMNS = ("id", "study_id", "stratum", "position", "arm", "participant_id",
                      "assigned_at", "assigned_by_id")
NOT_DONE_REASONS = ("Participant unwell, could not travel", "Participant declined this visit",
                    "Site closed (public holiday)")
RANDOMIZATION_SEED = "bench-network-randomization-seed"


@dataclass(frozen=True)
class DoneVisit:
    """A visit that took place: what the CRF generator needs to fill its forms."""

    visit_id: int
    code: str
    actual: date
    forms: tuple[str, ...]


@dataclass
class Life:
    """One participant's rows, and the visits done (for their CRFs)."""

    participant_id: int
    site: Site
    study: str
    screening: tuple
    participant: tuple
    events: list[tuple] = field(default_factory=list)
    visits: list[tuple] = field(default_factory=list)
    deviations: list[tuple] = field(default_factory=list)
    assignment: tuple | None = None
    done: list[DoneVisit] = field(default_factory=list)


@dataclass
class Ids:
    """The next id of each table; the generator hands them out in order."""

    next: dict[str, int]

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


def at_site(site: Site, day: date, hour: int) -> datetime:
    """A site-local time of day, in UTC as it is stored."""
    return datetime.combine(day, time(hour), ZoneInfo(site.timezone)).astimezone(UTC)


class Cohort:
    """Draws participants one by one; the same shape and seed give the same network."""

    def __init__(self, shape: Shape, network: Network, ids: Ids) -> None:
        self.shape, self.network, self.ids = shape, network, ids
        self.rng = random.Random(shape.seed)
        self.numbers: dict[tuple[int, str], int] = {}  # (site id, study) → last number
        self.lists: dict[tuple[str, int], Iterator[str]] = {}  # randomization lists
        weights = [1 / (1 + 0.04 * n) for n in range(len(network.sites))]  # some recruit more
        self.site_weights = weights

    def studies(self) -> list[str]:
        """The study of each participant, in proportion to STUDY_SHARES, in enrolment order."""
        codes = [code for code, share in STUDY_SHARES
                 for _ in range(round(self.shape.participants * share))]
        self.rng.shuffle(codes)
        return codes + ["BENCH40"] * self.shape.bench_participants

    def life(self, study: str) -> Life:
        site = self.rng.choices(self.network.sites, self.site_weights)[0]
        protocol = self.network.protocols[study]
        days = self.shape.years * 365
        if study == "BENCH40":  # recent, so that most of its visits are still to be entered
            start = self.shape.today - timedelta(days=self.rng.randrange(0, 60))
        else:
            start = self.shape.today - timedelta(days=self.rng.randrange(1, days))
        return self._live(study, protocol, site, start)

    def _live(self, study: str, protocol: Protocol, site: Site, start: date) -> Life:
        version = self.network.versions[study]
        staff = self.network.staff[site.id]
        number = self.numbers[site.id, study] = self.numbers.get((site.id, study), 0) + 1
        screening_id, pid = self.ids.take("screenings"), self.ids.take("participants")
        subgroups = protocol.study.subgroups
        subgroup = self.rng.choice(subgroups).code if subgroups else None
        enrolled = at_site(site, start, 10)
        screening = (screening_id, site.id, version.study_id, version.id, f"SCR{number:05d}",
                     subgroup, "enrolled", enrolled - timedelta(days=14), staff.coordinator,
                     enrolled, staff.investigator, 2)
        arm, assignment = self._arm(protocol, site, version.study_id, pid, enrolled,
                                    staff.coordinator)
        withdrawn = self._withdrawal(start)
        participant = (pid, site.id, version.study_id, version.id, screening_id,
                       f"{site.code}-{number:04d}", subgroup, arm, enrolled, staff.coordinator,
                       start, at_site(site, withdrawn, 15) if withdrawn else None,
                       "Withdrew consent" if withdrawn else None, 2)
        life = Life(pid, site, study, screening, participant, assignment=assignment)
        events = self._events(protocol.study.schedule, start, withdrawn)
        for code, day in events.items():
            life.events.append((self.ids.take("participant_events"), pid, code, day,
                                at_site(site, day, 16), staff.coordinator))
        self._visits(life, protocol, plan(protocol.study.schedule, start, events), withdrawn)
        return life

    def _arm(self, protocol: Protocol, site: Site, study_id: int, pid: int, when: datetime,
             actor: int) -> tuple[str | None, tuple | None]:
        scheme = protocol.study.randomization
        if scheme is None:
            return protocol.study.arms[0].code, None
        stratum = stratum_key(scheme, {"site": site.code})
        arms = self.lists.get((stratum, study_id))
        if arms is None:
            arms = self.lists[stratum, study_id] = chain.from_iterable(
                blocks(scheme, RANDOMIZATION_SEED, stratum))
        position = self.numbers[site.id, protocol.study.code]
        arm = next(arms)
        return arm, (self.ids.take("randomization_assignments"), study_id, stratum, position,
                     arm, pid, when, actor)

    def _withdrawal(self, start: date) -> date | None:
        span = (self.shape.today - start).days
        if span < 30 or self.rng.random() >= 0.03:
            return None
        return start + timedelta(days=self.rng.randrange(14, span))

    def _events(self, schedule: Schedule, start: date, withdrawn: date | None) -> dict[str, date]:
        """Actual dates of the events that have happened: planned, or a few days off."""
        root = next(a.code for a in schedule.anchors if a.planned_from is None)
        actual: dict[str, date] = {}
        for anchor in schedule.anchors:
            base = start if anchor.planned_from == root else actual.get(anchor.planned_from)
            if anchor.kind is not AnchorKind.EVENT or base is None:
                continue  # the root, or planned from an event that has not happened
            shift = self.rng.choice((0, 0, 0, 0, 0, 0, 0, 1, 2, -1, 3))
            day = base + timedelta(days=anchor.planned_offset + shift)
            if day <= self.shape.today and (withdrawn is None or day <= withdrawn):
                actual[anchor.code] = day
        return actual

    def _visits(self, life: Life, protocol: Protocol, planned: list[PlannedVisit],
                withdrawn: date | None) -> None:
        site, pid = life.site, life.participant_id
        created = life.participant[8]
        definitions = {v.code: v for v in protocol.study.schedule.visits}
        event_days = {row[2]: row[3] for row in life.events}
        for visit in planned:
            definition = definitions[visit.code]
            vid = self.ids.take("visits")
            actual, not_done, cancelled = self._outcome(visit, definition.records, event_days,
                                                        withdrawn, definition.safety)
            if actual is not None:
                life.done.append(DoneVisit(vid, visit.code, actual, definition.forms))
                if not visit.window_start <= actual <= visit.window_end:
                    life.deviations.append(self._deviation(life, vid, visit, actual))
            life.visits.append((vid, pid, site.id, visit.code, visit.name, visit.anchor,
                                visit.target, visit.window_start, visit.window_end,
                                visit.window_ours, False, actual, not_done,
                                at_site(site, cancelled, 15) if cancelled else None, "scheduled",
                                created, 2 if actual or not_done or cancelled else 1))

    def _outcome(self, visit: PlannedVisit, records: str | None, events: dict[str, date],
                 withdrawn: date | None, safety: bool) -> tuple[date | None, str | None,
                                                                date | None]:
        """(actual date, not-done reason, cancelled on) of one planned visit."""
        today, rng = self.shape.today, self.rng
        if records in events:
            return events[records], None, None  # the visit that records the event
        if withdrawn and visit.window_end >= withdrawn and not safety:
            return None, None, withdrawn  # still open at withdrawal: cancelled
        if records is not None or visit.window_start > today:
            return None, None, None  # still to come
        roll = rng.random()
        if visit.window_end >= today:  # in its window now: done by some sites already
            return (self._day_in(visit.window_start, today) if roll < 0.4 else None), None, None
        if roll < 0.88:
            return self._day_in(visit.window_start, visit.window_end), None, None
        if roll < 0.93:
            late = visit.window_end + timedelta(days=rng.randrange(1, 6))
            return min(late, today), None, None
        if roll < 0.96:
            return None, rng.choice(NOT_DONE_REASONS), None
        return None, None, None  # missed

    def _day_in(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randrange((last - first).days + 1))

    def _deviation(self, life: Life, vid: int, visit: PlannedVisit, actual: date) -> tuple:
        detail = (f"{visit.code} done on {actual.isoformat()}, outside its window "
                  f"{visit.window_start.isoformat()} – {visit.window_end.isoformat()}")
        return (self.ids.take("deviations"), life.participant_id, life.site.id, vid,
                "visit_out_of_window", detail, at_site(life.site, actual, 17),
                self.network.staff[life.site.id].coordinator)
