"""Reminders against a real SMTP server: every one arrives once, none is lost, none twice."""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from app.domain.access import Role
from app.domain.schedule import status
from app.notify import jobs
from app.notify.models import OutboxMessage, VisitStatusChange
from app.notify.sweep import REMINDED, sweep
from app.visits.models import Visit
from tests.conftest import make_test_app
from tests.support import factories

SEOUL = ZoneInfo("Asia/Seoul")
DAY0 = date(2026, 3, 2)
LINE = re.compile(r"^- (\S+): (.+) is (\w+)\. Target", re.M)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def reminder_app(database_url, smtp_server):
    clock = Clock(datetime(2026, 2, 20, tzinfo=UTC))
    app = make_test_app(database_url, CLOCK=clock, MAIL_SERVER="127.0.0.1",
                        MAIL_PORT=smtp_server.port, SMTP_TIMEOUT_SECONDS=5,
                        BASE_URL="https://ecrf.example.org")
    app.clock = clock
    yield app
    from tests.support.database import empty_all_tables

    empty_all_tables(app.extensions["db_engine"])
    app.extensions["db_engine"].dispose()


@pytest.fixture
def study_site(reminder_app):
    """Site A in Seoul (lead 3 days) with a coordinator and a CS20AT04 participant."""
    from app.db import db

    with reminder_app.app_context(), db.writing() as s:
        site = factories.site(s, "SITEA", "Asia/Seoul")
        site.reminder_lead_days = 3
        coord = factories.user(s, "coord-a", Role.COORDINATOR, site)
        factories.user(s, "pi-a", Role.INVESTIGATOR, site)  # investigators get no reminders
        other = factories.site(s, "SITEB", "Europe/Berlin")
        factories.user(s, "coord-b", Role.COORDINATOR, other)
        participant = factories.enrolled(s, site, "CS20AT04", DAY0, coord)
        ids = {"site": site.id, "participant": participant.id, "code": participant.participant_code}
    return ids


def _at(day: date, hour: int, zone=SEOUL) -> datetime:
    return datetime.combine(day, time(hour), zone).astimezone(UTC)


def _run(app, when: datetime) -> jobs.RunReport:
    app.clock.now = when
    return jobs.run_once(app)


def _received(smtp_server) -> Counter:
    """(participant, visit name, status) → how many times it was emailed."""
    seen = Counter()
    for message in smtp_server.messages:
        text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
        seen.update(LINE.findall(text.get_payload(decode=True).decode()))
    return seen


def _expected(app, participant_id: int, code: str, days: list[date]) -> set:
    from app.db import db

    with app.app_context():
        visits = db.session.scalars(select(Visit).where(Visit.participant_id == participant_id))
        wanted = set()
        for v in visits:
            for day in days:
                s = status(v.window_start, v.target_date, v.window_end, day, 3).value
                if s in REMINDED:
                    wanted.add((code, v.name, s))
    return wanted


def test_every_reminder_arrives_exactly_once_over_14_days(reminder_app, study_site, smtp_server):
    days = [DAY0 - timedelta(days=4) + timedelta(days=n) for n in range(14)]
    for day in days:
        for hour in (1, 8, 15, 23):  # hourly runs in spirit: several a day, at any hour
            report = _run(reminder_app, _at(day, hour))
            assert report.ran and report.send.failed == 0
    seen = _received(smtp_server)
    assert set(seen) == _expected(reminder_app, study_site["participant"], study_site["code"],
                                  days)
    assert all(count == 1 for count in seen.values()), seen
    recipients = {m["To"] for m in smtp_server.messages}
    assert recipients == {"coord-a@example.org"}
    per_day = Counter(m["Subject"].split()[3] for m in smtp_server.messages)
    assert all(n == 1 for n in per_day.values())  # one digest a day


def test_nothing_is_sent_before_the_digest_hour(reminder_app, study_site, smtp_server):
    _run(reminder_app, _at(DAY0 - timedelta(days=3), 5))
    assert smtp_server.messages == []
    _run(reminder_app, _at(DAY0 - timedelta(days=3), 7))
    assert len(smtp_server.messages) == 1


def test_smtp_down_loses_nothing_and_sends_once_when_back(reminder_app, study_site,
                                                          smtp_server):
    days = [DAY0 - timedelta(days=4) + timedelta(days=n) for n in range(12)]
    smtp_server.stop()
    for day in days[:5]:
        report = _run(reminder_app, _at(day, 9))
        assert report.send.sent == 0
    with reminder_app.app_context():
        from app.db import db

        pending = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.state == "pending"))
        errors = db.session.scalars(select(OutboxMessage.last_error)).all()
    assert pending >= 3 and all("cannot connect" in e for e in errors)
    smtp_server.start()
    for day in days[5:]:
        _run(reminder_app, _at(day, 9))
    seen = _received(smtp_server)
    assert set(seen) == _expected(reminder_app, study_site["participant"], study_site["code"],
                                  days)
    assert all(count == 1 for count in seen.values())


def test_temporary_failure_is_retried_permanent_is_failed_and_resendable(
        reminder_app, study_site, smtp_server):
    from app.db import db

    smtp_server.recorder.reply = "451 4.3.0 try again later"
    _run(reminder_app, _at(DAY0 - timedelta(days=3), 9))
    with reminder_app.app_context():
        row = db.session.scalar(select(OutboxMessage))
        first_id, state, retry_at = row.message_id, row.state, row.next_attempt_at
    assert state == "pending" and retry_at > _at(DAY0 - timedelta(days=3), 9)

    smtp_server.recorder.reply = "550 5.1.1 no such mailbox"
    _run(reminder_app, _at(DAY0 - timedelta(days=3), 10))
    with reminder_app.app_context():
        row = db.session.scalar(select(OutboxMessage))
        assert (row.state, row.message_id) == ("failed", first_id)

    client = reminder_app.test_client()
    client.post("/login", data={"username": "coord-a", "password": factories.PASSWORD})
    page = client.get("/outbox/?state=failed").get_data(as_text=True)
    assert "550" in page and "Resend" in page
    smtp_server.recorder.reply = None
    assert client.post(f"/outbox/{row.id}/resend").status_code == 302
    _run(reminder_app, _at(DAY0 - timedelta(days=3), 11))
    assert [m["Message-ID"] for m in smtp_server.messages] == [first_id]

    other = reminder_app.test_client()
    other.post("/login", data={"username": "coord-b", "password": factories.PASSWORD})
    assert "Visit reminders" not in other.get("/outbox/").get_data(as_text=True)
    assert other.post(f"/outbox/{row.id}/resend").status_code == 404


def test_email_carries_the_participant_id_only_text_html_and_ics(reminder_app, study_site,
                                                                 smtp_server):
    _run(reminder_app, _at(DAY0 - timedelta(days=3), 9))
    (message,) = smtp_server.messages
    parts = {p.get_content_type(): p for p in message.walk()}
    text = parts["text/plain"].get_payload(decode=True).decode()
    html = parts["text/html"].get_payload(decode=True).decode()
    assert study_site["code"] in text and study_site["code"] in html
    assert f"https://ecrf.example.org/participants/{study_site['participant']}" in text
    assert "Coord" not in text and "19" not in text.split("Target")[0]  # no names, no births
    calendar = Calendar.from_ical(parts["text/calendar"].get_payload(decode=True))
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == DAY0  # the window of INF1 starts on day 0
    assert study_site["code"] in str(event["summary"])


def test_second_sweep_changes_nothing(reminder_app, study_site):
    from app.db import db

    with reminder_app.app_context():
        with db.writing() as s:
            first = sweep(s, _at(DAY0, 9))
        with db.writing() as s:
            second = sweep(s, _at(DAY0, 10))
        changes = db.session.scalar(select(func.count()).select_from(VisitStatusChange))
    assert first.changes > 0 and second.changes == 0 and changes == first.changes


def test_two_schedulers_send_each_reminder_once(reminder_app, study_site, smtp_server):
    """Two scheduler 'processes' (different lease holders) racing on every run."""
    days = [DAY0 - timedelta(days=4) + timedelta(days=n) for n in range(8)]
    for day in days:
        reminder_app.clock.now = _at(day, 9)
        reports = []
        threads = [threading.Thread(target=lambda h=h, out=reports: out.append(
            jobs.run_once(reminder_app, holder=h))) for h in ("host-a:1", "host-b:2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(r.ran for r in reports) >= 1
    seen = _received(smtp_server)
    assert seen and all(count == 1 for count in seen.values())


def test_senders_racing_without_the_lease_still_send_once(reminder_app, study_site,
                                                         smtp_server):
    """The claim alone (SKIP LOCKED / the write lock) keeps two senders apart."""
    from app.db import db
    from app.notify import outbox, sender

    with reminder_app.app_context():
        for n in range(6):
            with db.writing() as s:
                sweep(s, _at(DAY0 - timedelta(days=4 - n), 9))
                outbox.build(s, _at(DAY0 - timedelta(days=4 - n), 9), "https://x", 7)
        settings = sender.MailSettings.from_config(reminder_app.config)
        queued = db.session.scalar(select(func.count()).select_from(OutboxMessage))

        def drain():
            with reminder_app.app_context():
                sender.send_pending(db.new_write_session, settings, _at(DAY0 + timedelta(2), 9),
                                    batch=1)

        threads = [threading.Thread(target=drain) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    ids = [m["Message-ID"] for m in smtp_server.messages]
    assert len(ids) == queued == len(set(ids))


@pytest.mark.parametrize(("zone", "instant", "local"), [
    # Berlin springs forward on 2026-03-29 at 02:00 (UTC+1 → UTC+2)
    ("Europe/Berlin", datetime(2026, 3, 28, 22, 59, tzinfo=UTC), date(2026, 3, 28)),
    ("Europe/Berlin", datetime(2026, 3, 28, 23, 0, tzinfo=UTC), date(2026, 3, 29)),
    ("Europe/Berlin", datetime(2026, 3, 29, 21, 59, tzinfo=UTC), date(2026, 3, 29)),
    ("Europe/Berlin", datetime(2026, 3, 29, 22, 0, tzinfo=UTC), date(2026, 3, 30)),
    # New York springs forward on 2026-03-08 (UTC-5 → UTC-4) and falls back on 2026-11-01
    ("America/New_York", datetime(2026, 3, 8, 4, 59, tzinfo=UTC), date(2026, 3, 7)),
    ("America/New_York", datetime(2026, 3, 9, 3, 59, tzinfo=UTC), date(2026, 3, 8)),
    ("America/New_York", datetime(2026, 3, 9, 4, 0, tzinfo=UTC), date(2026, 3, 9)),
    ("America/New_York", datetime(2026, 11, 2, 4, 59, tzinfo=UTC), date(2026, 11, 1)),
    ("America/New_York", datetime(2026, 11, 2, 5, 0, tzinfo=UTC), date(2026, 11, 2)),
    # UTC+09:00, no DST
    ("Asia/Tokyo", datetime(2026, 3, 1, 14, 59, tzinfo=UTC), date(2026, 3, 1)),
    ("Asia/Tokyo", datetime(2026, 3, 1, 15, 0, tzinfo=UTC), date(2026, 3, 2)),
])
def test_statuses_follow_the_sites_date_across_dst(reminder_app, zone, instant, local):
    """The site's date at `instant` is `local`; a visit whose window opens that day turns due
    at the site's midnight, an hour earlier or later in UTC across a DST change."""
    from app.db import db
    from app.visits.services import site_today

    with reminder_app.app_context(), db.writing() as s:
        site = factories.site(s, "TZ", zone)
        assert site_today(site, instant) == local
        coord = factories.user(s, "coord-tz", Role.COORDINATOR, site)
        p = factories.enrolled(s, site, "CS20AT04", local, coord)
        inf1 = s.scalar(select(Visit).where(Visit.participant_id == p.id, Visit.code == "INF1"))
        assert inf1.window_start == local
        midnight = datetime.combine(local, time(0), ZoneInfo(zone)).astimezone(UTC)
        for when, expected in ((midnight - timedelta(minutes=1), "upcoming"),
                               (midnight, "due"), (instant, "due")):
            sweep(s, when)
            s.refresh(inf1)
            assert inf1.status == expected, when


@pytest.mark.parametrize(("zone", "day", "first_hour_utc"), [
    ("Europe/Berlin", date(2026, 3, 28), 6),  # 07:00 CET
    ("Europe/Berlin", date(2026, 3, 30), 5),  # 07:00 CEST
    ("America/New_York", date(2026, 3, 7), 12),  # 07:00 EST
    ("America/New_York", date(2026, 3, 9), 11),  # 07:00 EDT
])
def test_digest_goes_out_at_seven_local_across_dst(reminder_app, smtp_server, zone, day,
                                                   first_hour_utc):
    from app.db import db

    with reminder_app.app_context(), db.writing() as s:
        site = factories.site(s, "TZ", zone)
        coord = factories.user(s, "coord-tz", Role.COORDINATOR, site)
        factories.enrolled(s, site, "CS20AT04", day + timedelta(days=2), coord)
    before = datetime.combine(day, time(first_hour_utc - 1, 59), UTC)
    _run(reminder_app, before)
    assert smtp_server.messages == []
    _run(reminder_app, before + timedelta(minutes=1))
    assert len(smtp_server.messages) == 1


def test_missed_run_is_caught_up_once_at_start(reminder_app, study_site):
    from apscheduler.schedulers.background import BackgroundScheduler

    from app.notify.scheduler import configure

    _run(reminder_app, _at(DAY0, 9))
    reminder_app.clock.now = _at(DAY0, 9) + timedelta(hours=5)  # down for 5 hourly runs
    scheduler = BackgroundScheduler(timezone="UTC")
    configure(scheduler, reminder_app)
    (job,) = scheduler.get_jobs()
    assert job.next_run_time == reminder_app.clock.now  # one run now, not five
    reminder_app.clock.now = _at(DAY0, 9) + timedelta(minutes=20)  # a restart within the hour
    scheduler = BackgroundScheduler(timezone="UTC")
    configure(scheduler, reminder_app)
    (job,) = scheduler.get_jobs()
    assert job.next_run_time == _at(DAY0, 9) + timedelta(hours=1)


def test_per_visit_mode_sends_one_email_per_reminder(reminder_app, study_site, smtp_server):
    from app.db import db
    from app.sites.models import Site

    with reminder_app.app_context(), db.writing() as s:
        s.get(Site, study_site["site"]).reminder_digest = False
    days = [DAY0 - timedelta(days=4) + timedelta(days=n) for n in range(6)]
    for day in days:
        _run(reminder_app, _at(day, 9))
    seen = _received(smtp_server)
    assert len(smtp_server.messages) == sum(seen.values()) == len(seen)


def test_two_scheduler_processes_send_each_reminder_once(reminder_app, study_site,
                                                         smtp_server, database_url):
    """Two `flask reminders run-once` processes at a time, day after day."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "DATABASE_URL": database_url, "MAIL_SERVER": "127.0.0.1",
           "MAIL_PORT": str(smtp_server.port), "SECRET_KEY": "test"}
    flask = str(Path(sys.executable).with_name("flask"))
    for n in range(4):
        day = (DAY0 - timedelta(days=4) + timedelta(days=n)).isoformat()
        procs = [subprocess.Popen([flask, "--app", "app", "reminders", "run-once",
                                   "--today", day], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT) for _ in range(2)]
        outputs = [p.communicate(timeout=60)[0].decode() for p in procs]
        assert any("status changes" in out for out in outputs), outputs
    seen = _received(smtp_server)
    assert seen and all(count == 1 for count in seen.values())
