"""Drains the outbox over SMTP.

Rows are claimed in a short write transaction (FOR UPDATE SKIP LOCKED on PostgreSQL; the
write lock on SQLite) so that two senders never take the same one. Temporary failures
(4xx, a server that is down) are retried with a doubling delay; permanent ones (5xx) are
marked failed and shown on the outbox page.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.notify.models import OutboxMessage

LEASE = timedelta(minutes=10)  # a claim that old belongs to a sender that died


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


def claim(session: Session, now: datetime, limit: int) -> list[int]:
    """Take up to `limit` due messages for this sender; commits the claim."""
    due = or_(
        (OutboxMessage.state == "pending") & (OutboxMessage.next_attempt_at <= now),
        (OutboxMessage.state == "sending") & (OutboxMessage.claimed_until < now),
    )
    stmt = select(OutboxMessage).where(due).order_by(OutboxMessage.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(session.scalars(stmt))
    for row in rows:
        row.state, row.claimed_until = "sending", now + LEASE
    session.commit()
    return [row.id for row in rows]


def as_email(row: OutboxMessage, sender: str, now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, row.recipient, row.subject
    message["Message-ID"] = row.message_id  # the same on every attempt: receivers dedupe
    message["Date"] = format_datetime(now)
    message.set_content(row.body_text)
    message.add_alternative(row.body_html, subtype="html")
    if row.ics:
        message.add_attachment(row.ics.encode(), maintype="text", subtype="calendar",
                               filename="visits.ics", params={"method": "PUBLISH"})
    return message


def send_pending(make_session: Callable[[], Session], settings: MailSettings, now: datetime,
                 batch: int = 50) -> SendReport:
    """Send what is due, batch by batch, until nothing is left or the server is down."""
    report = SendReport()
    while True:
        with make_session() as session:
            ids = claim(session, now, batch)
        if not ids:
            return report
        if not _send_batch(make_session, settings, now, ids, report):
            return report  # the server is unreachable: the rest waits for the next run


def _send_batch(make_session, settings: MailSettings, now: datetime, ids: list[int],
                report: SendReport) -> bool:
    try:
        smtp = _connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        with make_session() as session:
            for row in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))):
                _retry(row, settings, now, f"cannot connect: {exc}", report)
            session.commit()
        return False
    with smtp, make_session() as session:
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))
                                   .order_by(OutboxMessage.id)):
            _send_one(smtp, row, settings, now, report)
            session.commit()  # each message's outcome is kept even if a later one crashes
    return True


def _connect(settings: MailSettings) -> smtplib.SMTP:
    smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    if settings.use_tls:
        smtp.starttls()
    if settings.username:
        smtp.login(settings.username, settings.password or "")
    return smtp


def _send_one(smtp: smtplib.SMTP, row: OutboxMessage, settings: MailSettings, now: datetime,
              report: SendReport) -> None:
    try:
        smtp.send_message(as_email(row, settings.sender, now))
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:
            _retry(row, settings, now, f"{exc.smtp_code} {exc.smtp_error!r}", report)
        else:
            _fail(row, f"{exc.smtp_code} {exc.smtp_error!r}", report)
    except smtplib.SMTPRecipientsRefused as exc:
        error = f"recipient refused: {exc.recipients}"
        if all(400 <= code < 500 for code, _ in exc.recipients.values()):
            _retry(row, settings, now, error, report)
        else:
            _fail(row, error, report)
    except (OSError, smtplib.SMTPException) as exc:
        _retry(row, settings, now, f"{type(exc).__name__}: {exc}", report)
    else:
        row.state, row.sent_at, row.claimed_until, row.last_error = "sent", now, None, None
        row.attempts += 1
        report.sent += 1


def _retry(row: OutboxMessage, settings: MailSettings, now: datetime, error: str,
           report: SendReport) -> None:
    row.attempts += 1
    if row.attempts >= settings.max_attempts:
        _fail(row, f"gave up after {row.attempts} attempts: {error}", report)
        return
    delay = settings.retry_base_seconds * 2 ** (row.attempts - 1)
    row.state, row.claimed_until = "pending", None
    row.next_attempt_at, row.last_error = now + timedelta(seconds=delay), error
    report.retried += 1
    report.errors.append(error)


def _fail(row: OutboxMessage, error: str, report: SendReport) -> None:
    row.state, row.claimed_until, row.last_error = "failed", None, error
    report.failed += 1
    report.errors.append(error)


def resend(session: Session, row: OutboxMessage, now: datetime) -> None:
    """A failed message, queued again (same Message-ID) after someone fixed the cause."""
    row.state, row.attempts, row.next_attempt_at, row.last_error = "pending", 0, now, None
