"""APScheduler wiring: in the web process for `make run`, or as its own process in production.

One interval job. At start-up it runs at once if a run was missed while the process was down
(one catch-up run, not one per missed interval), else at the next interval.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from app.notify.jobs import clock, last_run, run_once

log = logging.getLogger(__name__)


def _job(app: Flask) -> None:
    report = run_once(app)
    if report.ran:
        log.info("reminders: %s status changes, %s reminders, %s emails queued, %s sent",
                 report.sweep.changes, report.sweep.reminders, report.queued, report.send.sent)


def configure(scheduler: BaseScheduler, app: Flask) -> None:
    interval = app.config["REMINDER_INTERVAL_SECONDS"]
    now = clock(app)
    previous = last_run(app)
    due = previous + timedelta(seconds=interval) if previous else now
    scheduler.add_job(_job, "interval", args=[app], id="reminders", seconds=interval,
                      next_run_time=max(now, due), coalesce=True, max_instances=1,
                      misfire_grace_time=interval, replace_existing=True)


def start_background(app: Flask) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", daemon=True)
    configure(scheduler, app)
    scheduler.start()
    app.extensions["scheduler"] = scheduler
    return scheduler


def run_blocking(app: Flask) -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    configure(scheduler, app)
    scheduler.start()
