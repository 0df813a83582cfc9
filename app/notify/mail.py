"""An outbox row as an email: text and HTML as alternatives, the calendar attached if any.

Built on email.message.Message (the compat32 policy): EmailMessage's header registry and
content manager took five times as long, most of the sender's own time per message.
"""

from __future__ import annotations

import io
import quopri
import uuid
from datetime import datetime
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.policy import compat32
from email.utils import format_datetime
from typing import Protocol


class Mail(Protocol):
    """What a message is made of: an outbox row, or the row a claim returns."""

    recipient: str
    subject: str
    message_id: str
    body_text: str
    body_html: str
    ics: str | None


PLAIN, HTML = 'text/plain; charset="utf-8"', 'text/html; charset="utf-8"'
CALENDAR = 'text/calendar; charset="utf-8"; method="PUBLISH"'
ATTACHED = 'attachment; filename="visits.ics"'
CRLF = "\r\n"


def as_email(row: Mail, sender: str, now: datetime) -> Message:
    message = _multipart("alternative", [_text(row.body_text, PLAIN), _text(row.body_html, HTML)])
    if row.ics:
        calendar = _text(row.ics, CALENDAR)
        calendar["Content-Disposition"] = ATTACHED
        message = _multipart("mixed", [message, calendar])
    message["MIME-Version"] = "1.0"
    for name, value in _headers(row, sender, now):
        message[name] = value
    return message


def as_bytes(row: Mail, sender: str, now: datetime) -> bytes:
    """The message on the wire, flattened once (sendmail then sends it as it is)."""
    buffer = io.BytesIO()
    BytesGenerator(buffer, mangle_from_=False).flatten(as_email(row, sender, now), linesep=CRLF)
    return buffer.getvalue()


def _headers(row: Mail, sender: str, now: datetime) -> list[tuple[str, str | Header]]:
    return [("From", sender), ("To", row.recipient), ("Subject", _header(row.subject)),
            ("Message-ID", row.message_id),  # the same on every attempt: receivers dedupe
            ("Date", format_datetime(now))]


# Headers are set as strings, not through the email.mime classes, which parse and
# rewrite Content-Type for every parameter they add.
def _multipart(subtype: str, parts: list[Message]) -> Message:
    message = Message(policy=compat32)
    message["Content-Type"] = f'multipart/{subtype}; boundary="{_boundary()}"'
    for part in parts:
        message.attach(part)
    return message


def _text(content: str, content_type: str) -> Message:
    part = Message(policy=compat32)
    part["Content-Type"] = content_type
    part["Content-Transfer-Encoding"] = "quoted-printable"  # readable, and 7-bit safe
    part.set_payload(_quoted(content))
    return part


def _quoted(content: str) -> str:
    return quopri.encodestring(content.encode()).decode("ascii")  # binascii: in C


def _boundary() -> str:
    """Set here, not found by the generator: it would search every part for a string that
    is not in it. "=_" never occurs in a quoted-printable body (there "=" is followed by
    hex digits or a line end)."""
    return f"=_{uuid.uuid4().hex[:24]}"


def _header(value: str) -> str | Header:
    """ASCII as it is, anything else RFC 2047-encoded."""
    return value if value.isascii() else Header(value, "utf-8")
