"""The one scheduled job: sweep, queue, send. Thin and idempotent; guarded by a lease so that
a second scheduler process, started by mistake, does nothing while the first one is alive."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import Flask
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.services import prune_throttles
from app.auth.session import login_limits
from app.db import db
from app.model_base import utcnow
from app.notify import outbox, sender
from app.notify.models import SchedulerLease
from app.notify.sweep import SweepReport, sweep

JOB = "reminders"
HOLDER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class RunReport:
    ran: bool
    sweep: SweepReport | None = None
    queued: int = 0
    send: sender.SendReport | None = None


def clock(app: Flask) -> datetime:
    """The current time; tests and operators inject another through app.config['CLOCK']."""
    return app.config.get("CLOCK", utcnow)()


def acquire(session: Session, now: datetime, ttl: timedelta, holder: str = HOLDER) -> bool:
    taken = session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == JOB,
               (SchedulerLease.expires_at < now) | (SchedulerLease.holder == holder))
        .values(holder=holder, expires_at=now + ttl)
    ).rowcount
    if taken:
        return True
    if session.get(SchedulerLease, JOB) is not None:
        return False
    try:
        with session.begin_nested():
            session.execute(insert(SchedulerLease).values(name=JOB, holder=holder,
                                                          expires_at=now + ttl))
    except IntegrityError:
        return False
    return True


def release(session: Session, now: datetime, holder: str = HOLDER) -> None:
    session.execute(update(SchedulerLease)
                    .where(SchedulerLease.name == JOB, SchedulerLease.holder == holder)
                    .values(expires_at=now, last_run_at=now))


def last_run(app: Flask) -> datetime | None:
    with app.app_context():
        return db.session.scalar(select(SchedulerLease.last_run_at)
                                 .where(SchedulerLease.name == JOB))


def run_once(app: Flask, today: date | None = None, holder: str = HOLDER) -> RunReport:
    """One sweep, one build of the outbox, one send. Safe to call from any process."""
    with app.app_context():
        now = clock(app)
        interval = timedelta(seconds=app.config["REMINDER_INTERVAL_SECONDS"])
        with db.writing() as session:
            if not acquire(session, now, max(interval, timedelta(minutes=10)), holder):
                return RunReport(ran=False)
        try:
            with db.writing() as session:
                swept = sweep(session, now, today)
                prune_throttles(session, now, login_limits())  # housekeeping rides along
                queued = outbox.build(session, now, app.config["BASE_URL"],
                                      app.config["REMINDER_DIGEST_HOUR"],
                                      ignore_hour=today is not None)
            sent = sender.send_pending(lambda: db.new_write_session(),
                                       sender.MailSettings.from_config(app.config), now)
        finally:
            with db.writing() as session:
                release(session, now, holder)
        return RunReport(True, swept, queued, sent)
