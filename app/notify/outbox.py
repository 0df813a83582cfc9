"""Reminders into outbox messages: a daily digest per person and site, or one per visit."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from flask import render_template
from icalendar import Calendar, Event
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.notify.models import OutboxMessage, Reminder
from app.participants.models import Participant
from app.sites.models import Site
from app.visits.models import Visit


@dataclass(frozen=True)
class Item:
    """What an email says of one visit: the participant's study ID, never a name."""

    participant_code: str
    visit_uid: str
    visit_name: str
    status: str
    target: date
    window_start: date
    window_end: date
    link: str


# the reminders' and visits' columns only: no ORM object for each of thousands of rows
PENDING = (Reminder.id, Reminder.status, Reminder.local_date, Visit.id.label("visit_id"),
           Visit.name, Visit.participant_id, Visit.target_date, Visit.window_start,
           Visit.window_end, Participant.participant_code)
OUTBOX, REMINDERS = OutboxMessage.__table__, Reminder.__table__
# rows per multi-row INSERT: psycopg converts one of 1,000 (the default) at twice the cost a row
INSERT_PAGE = 100


def build(session: Session, now: datetime, base_url: str, digest_hour: int,
          ignore_hour: bool = False) -> int:
    """Queue every reminder not yet in a message; returns the number of messages queued."""
    pending = session.execute(
        select(*PENDING, Site, User)
        .join(Visit, Visit.id == Reminder.visit_id)
        .join(Participant, Participant.id == Visit.participant_id)
        .join(Site, Site.id == Reminder.site_id)
        .join(User, User.id == Reminder.user_id)
        .where(Reminder.outbox_id.is_(None))
        .order_by(Reminder.user_id, Reminder.site_id, Reminder.local_date, Visit.target_date,
                  Reminder.id)
    ).all()
    messages: list[dict] = []
    members: list[list[int]] = []  # the reminders of each message
    key = lambda row: (row.User.id, row.Site.id, row.local_date)  # noqa: E731
    for (_user_id, _site_id, local_date), group in groupby(pending, key=key):
        rows = list(group)
        site, user = rows[0].Site, rows[0].User
        if not ignore_hour and not _sending_time(site, local_date, now, digest_hour):
            continue
        batches = [rows] if site.reminder_digest else [[row] for row in rows]
        for batch in batches:
            messages.append(_message(batch, site, user, local_date, base_url, now))
            members.append([row.id for row in batch])
    if messages:
        _store(session, messages, members)
    return len(messages)


def _store(session: Session, messages: list[dict], members: list[list[int]]) -> None:
    """The messages in multi-row INSERTs returning their ids, then each reminder pointed at
    its message in one executemany: a flush a message cost a round trip and the unit of
    work's fixed cost each."""
    ids = session.execute(insert(OUTBOX).returning(OUTBOX.c.id, sort_by_parameter_order=True),
                          messages,
                          execution_options={"insertmanyvalues_page_size": INSERT_PAGE})
    links = [{"reminder": reminder, "message": message}
             for message, reminders in zip(ids.scalars(), members, strict=True)
             for reminder in reminders]
    session.execute(update(REMINDERS).where(REMINDERS.c.id == bindparam("reminder"))
                    .values(outbox_id=bindparam("message")), links)


def _sending_time(site: Site, local_date: date, now: datetime, hour: int) -> bool:
    """A day's reminders go out from `hour` o'clock at the site (or at once if late)."""
    zone = ZoneInfo(site.timezone)
    return now.astimezone(zone) >= datetime.combine(local_date, time(hour), zone)


def _message(rows: list, site: Site, user: User, local_date: date, base_url: str,
             now: datetime) -> dict:
    items = [_item(row, base_url) for row in rows]
    ids = ",".join(str(row.id) for row in rows)
    digest = hashlib.sha256(ids.encode()).hexdigest()[:16]
    counts = ", ".join(f"{sum(i.status == s for i in items)} {s}"
                       for s in ("due", "overdue", "upcoming", "missed")
                       if any(i.status == s for i in items))
    context = {"site": site, "local_date": local_date, "items": items}
    return {
        "dedupe_key": f"reminders:{user.id}:{site.id}:{local_date.isoformat()}:{digest}",
        "message_id": f"<{uuid.uuid4().hex}@ecrf.reminders>",
        "site_id": site.id, "user_id": user.id, "recipient": user.email,
        "subject": f"[{site.code}] Visit reminders {local_date.isoformat()}: {counts}",
        "body_text": render_template("notify/reminders.txt", **context),
        "body_html": render_template("notify/reminders.html", **context),
        "ics": _calendar([i for i in items if i.status == "upcoming"]),
        "state": "pending", "attempts": 0, "created_at": now, "next_attempt_at": now,
    }


def _item(row, base_url: str) -> Item:
    return Item(row.participant_code, f"visit-{row.visit_id}@ecrf", row.name, row.status,
                row.target_date, row.window_start, row.window_end,
                f"{base_url.rstrip('/')}/participants/{row.participant_id}")


def _calendar(items: list[Item]) -> str | None:
    """An all-day event spanning each upcoming visit's window."""
    if not items:
        return None
    cal = Calendar()
    cal.add("prodid", "-//Lupus eCRF//visit reminders//EN")
    cal.add("version", "2.0")
    for item in items:
        event = Event()
        event.add("uid", item.visit_uid)
        event.add("summary", f"{item.participant_code}: {item.visit_name} (window)")
        event.add("description", f"Target {item.target.isoformat()}. {item.link}")
        event.add("dtstart", item.window_start)
        event.add("dtend", item.window_end + timedelta(days=1))
        event.add("dtstamp", datetime.combine(item.target, time(0), ZoneInfo("UTC")))
        cal.add_component(event)
    return cal.to_ical().decode()
