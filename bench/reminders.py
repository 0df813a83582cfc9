"""Benchmark 5: 10,000 due reminders through the outbox to a local SMTP server, against a
script sending the same messages over one connection.

The reminders (status "due", one a visit, for the coordinator of each site that sends one
email per visit, so one message each) are added to the network for the benchmark. The
application builds the outbox (`outbox.build`: templates, a row a message) and drains it
(`sender.send_pending`: claims, SMTP, the outcomes committed); the script sends the same
messages, flattened before its clock starts, with `smtplib.SMTP.sendmail` over one
connection. The server (bench.mailsink) runs in a process of its own and reports the
Message-IDs it received: every run must deliver each message exactly once. Between runs
(not timed) the outbox rows are deleted and the reminders made pending again; at the end
everything the benchmark added is removed.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import Engine, delete, func, literal, select, text, update

from app import create_app
from app.auth.models import RoleGrant
from app.db import db
from app.domain.access import Role
from app.model_base import utcnow
from app.notify import outbox, sender
from app.notify.models import OutboxMessage, Reminder
from app.sites.models import Site
from app.visits.models import Visit
from bench.harness import Comparison, Context, Figure, Goal, Result, interleave, stopwatch
from bench.mailsink import MailSink

COUNT, QUICK_COUNT = 10_000, 300
BASE_URL = "https://ecrf.bench.example"


@dataclass(frozen=True)
class Floors:
    """The highest ids before the benchmark: rows above them are the benchmark's own."""

    reminder: int
    outbox: int


@dataclass(frozen=True)
class Prepared:
    """One message as the script sends it."""

    sender: str
    recipient: str
    data: bytes
    message_id: str


def run(ctx: Context) -> Result:
    now = utcnow().replace(microsecond=0)
    count = QUICK_COUNT if ctx.quick else COUNT
    floors = _floors(ctx.engine)
    with MailSink() as sink:
        app = create_app({"DATABASE_URL": ctx.url, "SECRET_KEY": "bench", "BASE_URL": BASE_URL,
                          "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": sink.port})
        try:
            _add_reminders(ctx.engine, count, now, floors)
            with app.app_context():
                return _measure(ctx, app, sink, now, floors, count)
        finally:
            _remove(ctx.engine, floors)
            app.extensions["db_engine"].dispose()


def _measure(ctx: Context, app: Flask, sink: MailSink, now: datetime, floors: Floors,
             count: int) -> Result:
    settings = sender.MailSettings.from_config(app.config)
    building, sending = Figure("s"), Figure("s")
    app_rate, script_rate = Figure("messages/s"), Figure("messages/s")
    messages = _prepare(ctx.engine, app, now, floors, settings)  # also warms the templates
    ctx.progress(f"    {len(messages):,} messages of {_mean_size(messages):,.0f} bytes")

    def application() -> float:
        with stopwatch() as total:
            with stopwatch() as built, db.writing() as session:
                queued = outbox.build(session, now, BASE_URL, app.config["REMINDER_DIGEST_HOUR"])
            report = sender.send_pending(db.new_write_session, settings, now)
        building.samples.append(built())
        sending.samples.append(total() - built())
        if (queued, report.sent, report.retried, report.failed) != (count, count, 0, 0):
            raise AssertionError(f"queued {queued}, {report}")
        _check("application", sink.take(), _sent_ids(ctx.engine, floors))
        _reset(ctx.engine, floors)
        return count / total()

    def script() -> float:
        with (stopwatch() as elapsed,
              smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp):
            for m in messages:
                smtp.sendmail(m.sender, [m.recipient], m.data)
        _check("script", sink.take(), {m.message_id for m in messages})
        return count / elapsed()

    interleave(ctx.repeats, application, script, app_rate, script_rate, ctx.progress)
    return _result(count, _mean_size(messages), app_rate, script_rate, building, sending)


def _result(count: int, size: float, app_rate: Figure, script_rate: Figure, building: Figure,
            sending: Figure) -> Result:
    share = building.median / (building.median + sending.median)
    return Result(
        "reminders", "Reminders through the outbox",
        f"{count:,} due reminders, one email each (coordinators of the sites sending one email "
        f"per visit; {size:,.0f} bytes a message), to a local aiosmtpd server in a process of "
        "its own",
        [Comparison("messages/s", app_rate, script_rate, Goal(0.5, at_most=False),
                    baseline_name="one smtplib connection")],
        figures={"outbox.build (s)": _spread(building),
                 "sender.send_pending (s)": _spread(sending),
                 "share of the application's time spent building": f"{share:.0%}"},
        notes=["The application renders each message (text and HTML templates), stores it, "
               "claims it, sends it and commits its outcome (a batch of 50 at a time); the "
               "script sends the same bytes, flattened before its clock starts, and stores "
               "nothing.",
               "Every run is checked: each Message-ID received exactly once."])


def _spread(figure: Figure) -> str:
    low, mid, high = figure.spread()
    return f"{low:.2f} / **{mid:.2f}** / {high:.2f}"


def _mean_size(messages: list[Prepared]) -> float:
    return sum(len(m.data) for m in messages) / max(len(messages), 1)


def _floors(engine: Engine) -> Floors:
    with engine.connect() as conn:
        return Floors(conn.scalar(select(func.coalesce(func.max(Reminder.id), 0))),
                      conn.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0))))


def _add_reminders(engine: Engine, count: int, now: datetime, floors: Floors) -> None:
    """`count` due reminders, spread evenly over the sites that send one email per visit."""
    # yesterday in UTC is a date whose 07:00 has passed in every zone of the network
    local_date = (now - timedelta(days=1)).date()
    rank = func.row_number().over(partition_by=Visit.site_id, order_by=Visit.id).label("rank")
    visits = (select(Visit.id, Visit.site_id, rank).join(Site, Site.id == Visit.site_id)
              .where(Site.reminder_digest.is_(False)).subquery())
    rows = (select(visits.c.id, literal("due"), RoleGrant.user_id, visits.c.site_id,
                   literal(local_date), literal(now, Reminder.created_at.type))
            .join(RoleGrant, RoleGrant.site_id == visits.c.site_id)
            .where(RoleGrant.role == Role.COORDINATOR.value, RoleGrant.revoked_at.is_(None))
            .order_by(visits.c.rank, visits.c.site_id, RoleGrant.user_id).limit(count))
    with engine.begin() as conn:
        conn.execute(Reminder.__table__.insert().from_select(
            ["visit_id", "status", "user_id", "site_id", "local_date", "created_at"], rows))
        added = conn.scalar(select(func.count()).select_from(Reminder)
                            .where(Reminder.id > floors.reminder))
    if added != count:
        raise RuntimeError(f"the network has room for {added} reminders, not {count}")
    _vacuum(engine)


def _prepare(engine: Engine, app: Flask, now: datetime, floors: Floors,
             settings: sender.MailSettings) -> list[Prepared]:
    """The messages of one (untimed) build of the outbox, as bytes, the outbox reset after."""
    with db.writing() as session:
        outbox.build(session, now, BASE_URL, app.config["REMINDER_DIGEST_HOUR"])
    with db.writing() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.id > floors.outbox)
                               .order_by(OutboxMessage.id))
        prepared = [Prepared(settings.sender, row.recipient,
                             sender.as_bytes(row, settings.sender, now), row.message_id)
                    for row in rows]  # the very bytes the application sends
    _reset(engine, floors)
    return prepared


def _sent_ids(engine: Engine, floors: Floors) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(select(OutboxMessage.message_id, OutboxMessage.state)
                            .where(OutboxMessage.id > floors.outbox)).all()
    if any(state != "sent" for _, state in rows):
        raise AssertionError("a message of the outbox was not marked sent")
    return {message_id for message_id, _ in rows}


def _check(who: str, received: list[str], expected: set[str]) -> None:
    """Every message arrived exactly once, and nothing else did."""
    if len(received) != len(expected) or set(received) != expected:
        twice = len(received) - len(set(received))
        raise AssertionError(f"{who}: {len(received)} received ({twice} twice), "
                             f"{len(expected)} expected")


def _reset(engine: Engine, floors: Floors) -> None:
    """The reminders pending again, the outbox as it was: the next run starts the same."""
    with engine.begin() as conn:
        conn.execute(update(Reminder).where(Reminder.id > floors.reminder)
                     .values(outbox_id=None))
        conn.execute(delete(OutboxMessage).where(OutboxMessage.id > floors.outbox))
    _vacuum(engine)


def _remove(engine: Engine, floors: Floors) -> None:
    _reset(engine, floors)
    with engine.begin() as conn:
        conn.execute(delete(Reminder).where(Reminder.id > floors.reminder))
    _vacuum(engine)


def _vacuum(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE reminders, outbox"))

