"""Visits as an iCalendar subscription: one all-day event spanning each visit's window.

Events name the participant by study ID only (we keep no names or birth dates).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from icalendar import Calendar, Event

PRODID = "-//Lupus eCRF//visit calendar//EN"
UID_DOMAIN = "lupus-ecrf"
REFRESH = timedelta(hours=1)  # how often we ask calendar apps to fetch the feed again


@dataclass(frozen=True)
class FeedVisit:
    """What a subscribed calendar shows of one visit."""

    visit_id: int
    participant_code: str
    visit_code: str
    visit_name: str
    study_code: str
    site_code: str
    target: date
    window_start: date
    window_end: date
    window_ours: bool
    status: str
    actual_date: date | None = None
    revision: int = 1  # the visit's row version: a moved window is a newer event
    link: str | None = None

    @property
    def uid(self) -> str:
        return f"visit-{self.visit_id}@{UID_DOMAIN}"

    @property
    def summary(self) -> str:
        return f"{self.participant_code}: {self.visit_name}"

    @property
    def description(self) -> str:
        window = f"{self.window_start.isoformat()} to {self.window_end.isoformat()}"
        if self.window_ours:
            window += " (our window: the protocol gives none)"
        status = self.status.replace("_", " ")
        if self.actual_date is not None:
            status += f" on {self.actual_date.isoformat()}"
        lines = [
            f"{self.study_code} visit {self.visit_code} of {self.participant_code}",
            f"Target date: {self.target.isoformat()}",
            f"Window: {window}",
            f"Status: {status}",
        ]
        if self.link:
            lines.append(self.link)
        return "\n".join(lines)


def feed_window(today: date, days_back: int = 90, days_ahead: int = 400) -> tuple[date, date]:
    """The dates a feed covers: visits whose window meets [today - back, today + ahead]."""
    return today - timedelta(days=days_back), today + timedelta(days=days_ahead)


def calendar(name: str, visits: Iterable[FeedVisit], now: datetime,
             description: str | None = None) -> bytes:
    """The feed as iCalendar bytes (RFC 5545), one all-day VEVENT per visit."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    if description:
        cal.add("x-wr-caldesc", description)
    cal.add("x-published-ttl", "PT1H")  # Outlook reads this one (as text)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    for visit in visits:
        cal.add_component(_event(visit, now))
    return cal.to_ical()


def _event(visit: FeedVisit, now: datetime) -> Event:
    event = Event()
    event.add("uid", visit.uid)
    event.add("dtstamp", now)
    event.add("sequence", max(visit.revision - 1, 0))
    event.add("dtstart", visit.window_start)  # a date: an all-day event
    event.add("dtend", visit.window_end + timedelta(days=1))  # DTEND is exclusive
    event.add("summary", visit.summary)
    event.add("description", visit.description)
    event.add("location", visit.site_code)
    event.add("categories", [visit.study_code])
    event.add("transp", "TRANSPARENT")  # a window is not a busy day
    if visit.link:
        event.add("url", visit.link)
    return event
