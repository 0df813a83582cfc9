"""Drains the outbox over SMTP.

Rows are claimed in a short write transaction (FOR UPDATE SKIP LOCKED on PostgreSQL; the
write lock on SQLite), so that two senders never take the same one; no transaction is open
while the mail goes out, and a batch's outcomes are written in one more. Temporary failures
(4xx, a server that is down) are retried with a doubling delay; permanent ones (5xx) are
marked failed and shown on the outbox page.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from app.notify.mail import as_bytes, as_email
from app.notify.models import OutboxMessage

LEASE = timedelta(minutes=10)  # a claim that old belongs to a sender that died
OUTBOX = OutboxMessage.__table__
CLAIMED = (OUTBOX.c.id, OUTBOX.c.recipient, OUTBOX.c.subject, OUTBOX.c.message_id,
           OUTBOX.c.body_text, OUTBOX.c.body_html, OUTBOX.c.ics, OUTBOX.c.attempts)
Outcome = dict[str, Any]  # the columns to set on one row


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    sender: str
    timeout: int = 20
    use_tls: bool = False
    username: str | None = None
    password: str | None = None
    retry_base_seconds: int = 60
    max_attempts: int = 12

    @classmethod
    def from_config(cls, config) -> MailSettings:
        return cls(config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_FROM"],
                   config["SMTP_TIMEOUT_SECONDS"], config["MAIL_USE_TLS"],
                   config["MAIL_USERNAME"], config["MAIL_PASSWORD"],
                   config["MAIL_RETRY_BASE_SECONDS"], config["MAIL_MAX_ATTEMPTS"])


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def claim(session: Session, now: datetime, limit: int) -> list[Row]:
    """Take up to `limit` due messages for this sender; commits the claim."""
    ids = _due(session, (OUTBOX.c.state == "pending") & (OUTBOX.c.next_attempt_at <= now),
               OUTBOX.c.next_attempt_at, limit)
    if len(ids) < limit:  # and those of a sender that died with them
        ids += _due(session, (OUTBOX.c.state == "sending") & (OUTBOX.c.claimed_until < now),
                    OUTBOX.c.claimed_until, limit - len(ids))
    rows = session.execute(update(OUTBOX).where(OUTBOX.c.id.in_(ids))
                           .values(state="sending", claimed_until=now + LEASE)
                           .returning(*CLAIMED)).all() if ids else []
    session.commit()
    return sorted(rows, key=lambda row: row.id)


def _due(session: Session, where, order, limit: int) -> list[int]:
    """The first due ids, read off a range of ix_outbox_due (state, then time). One query
    for both kinds, in id order, sorted all the due rows again for every batch."""
    chosen = select(OUTBOX.c.id).where(where).order_by(order).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True)
    return list(session.scalars(chosen))


def send_pending(make_session: Callable[[], Session], settings: MailSettings, now: datetime,
                 batch: int = 50) -> SendReport:
    """Send what is due, batch by batch, until nothing is left or the server is down."""
    report = SendReport()
    with Mailer(settings) as mailer:
        while True:
            with make_session() as session:
                rows = claim(session, now, batch)
                if not rows:
                    return report
                if not _send_batch(session, mailer, settings, now, rows, report):
                    return report  # the server is unreachable: the rest waits for the next run


def _send_batch(session: Session, mailer: Mailer, settings: MailSettings, now: datetime,
                rows: list[Row], report: SendReport) -> bool:
    outcomes: dict[int, Outcome] = {}
    try:
        smtp = mailer.connection()
    except (OSError, smtplib.SMTPException) as exc:
        for row in rows:
            outcomes[row.id] = _retry(row, settings, now, f"cannot connect: {exc}", report)
        _record(session, outcomes)
        return False
    try:
        for row in rows:
            outcomes[row.id] = _send_one(smtp, mailer, row, settings, now, report)
    finally:
        _record(session, outcomes)
    return True


def _record(session: Session, outcomes: dict[int, Outcome]) -> None:
    """The batch's outcomes in one short transaction, and still if a later message raised.

    A commit a message cost more than sending it. Only a sender killed in the middle of a
    batch leaves more than one sent message 'sending': those go again when their lease
    ends, with the same Message-ID, which receivers dedupe on (as they must anyway for a
    sender killed between the server's 250 and its commit).
    """
    alike: dict[tuple, list[int]] = {}  # one UPDATE for all the messages sent, say
    for row_id, outcome in outcomes.items():
        alike.setdefault(tuple(sorted(outcome.items())), []).append(row_id)
    for outcome, ids in alike.items():
        session.execute(update(OUTBOX).where(OUTBOX.c.id.in_(ids))
                        .values(**dict(outcome), attempts=OUTBOX.c.attempts + 1))
    session.commit()


class Mailer:
    """One SMTP connection for a whole run, opened when first needed and again after it
    broke: not one a batch."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = _connect(self.settings)
        return self._smtp

    def broken(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *_exc) -> None:
        if self._smtp is not None:
            with suppress(OSError, smtplib.SMTPException):
                self._smtp.quit()
            self.broken()


def _connect(settings: MailSettings) -> smtplib.SMTP:
    smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    if settings.use_tls:
        smtp.starttls()
    if settings.username:
        smtp.login(settings.username, settings.password or "")
    return smtp


def _send_one(smtp: smtplib.SMTP, mailer: Mailer, row: Row, settings: MailSettings,
              now: datetime, report: SendReport) -> Outcome:
    try:
        if (settings.sender + row.recipient).isascii():  # flattened once, addresses as they are
            smtp.sendmail(settings.sender, [row.recipient], as_bytes(row, settings.sender, now))
        else:  # SMTPUTF8, if the server offers it
            smtp.send_message(as_email(row, settings.sender, now))
    except smtplib.SMTPResponseException as exc:
        error = f"{exc.smtp_code} {exc.smtp_error!r}"
        if 400 <= exc.smtp_code < 500:
            return _retry(row, settings, now, error, report)
        return _fail(error, report)
    except smtplib.SMTPRecipientsRefused as exc:
        error = f"recipient refused: {exc.recipients}"
        if all(400 <= code < 500 for code, _ in exc.recipients.values()):
            return _retry(row, settings, now, error, report)
        return _fail(error, report)
    except (OSError, smtplib.SMTPException) as exc:
        mailer.broken()  # the next batch connects again
        return _retry(row, settings, now, f"{type(exc).__name__}: {exc}", report)
    report.sent += 1
    return {"state": "sent", "sent_at": now, "claimed_until": None, "last_error": None}


def _retry(row: Row, settings: MailSettings, now: datetime, error: str,
           report: SendReport) -> Outcome:
    attempts = row.attempts + 1
    if attempts >= settings.max_attempts:
        return _fail(f"gave up after {attempts} attempts: {error}", report)
    report.retried += 1
    report.errors.append(error)
    delay = timedelta(seconds=settings.retry_base_seconds * 2 ** (attempts - 1))
    return {"state": "pending", "claimed_until": None, "next_attempt_at": now + delay,
            "last_error": error}


def _fail(error: str, report: SendReport) -> Outcome:
    report.failed += 1
    report.errors.append(error)
    return {"state": "failed", "claimed_until": None, "last_error": error}


def resend(session: Session, row: OutboxMessage, now: datetime) -> None:
    """A failed message, queued again (same Message-ID) after someone fixed the cause."""
    row.state, row.attempts, row.next_attempt_at, row.last_error = "pending", 0, now, None
