"""An outbox row as an email: text and HTML as alternatives, the calendar attached if any.

Built on email.message.Message (the compat32 policy): EmailMessage's header registry and
content manager took five times as long, most of the sender's own time per message.
"""

from __future__ import annotations

import io
import quopri
import re
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
LINE_LIMIT = 78  # a header's line, as the email package folds them
LINE_BREAK = re.compile(r"\r\n|\r|\n")  # as email.generator finds them


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
    """The message on the wire, flattened once (sendmail then sends it as it is).

    With short ASCII headers (a reminder's always are) it is written here directly: the
    same bytes the email package writes (tests/unit/test_mail.py checks it), in a tenth of
    the time, which was a quarter of the sender's time (docs/benchmarks.md). Anything else
    goes through the email package.
    """
    headers = _headers(row, sender, now)
    if not all(_fits(name, value) for name, value in headers):
        buffer = io.BytesIO()
        BytesGenerator(buffer, mangle_from_=False).flatten(as_email(row, sender, now),
                                                           linesep=CRLF)
        return buffer.getvalue()
    content_type, _, rest = _written(row).partition(CRLF)  # first, as the email package has it
    lines = [content_type, "MIME-Version: 1.0", *(f"{name}: {value}" for name, value in headers)]
    return (CRLF.join(lines) + CRLF + rest).encode("ascii")


def _written(row: Mail) -> str:
    body = _written_multipart("alternative", [_written_text(row.body_text, PLAIN),
                                              _written_text(row.body_html, HTML)])
    if not row.ics:
        return body
    calendar = _written_text(row.ics, CALENDAR, f"Content-Disposition: {ATTACHED}")
    return _written_multipart("mixed", [body, calendar])


def _fits(name: str, value: str | Header) -> bool:
    """A header that goes on one line as it is."""
    return (isinstance(value, str) and value.isascii() and "\n" not in value
            and "\r" not in value and len(name) + len(value) + 2 <= LINE_LIMIT)


def _written_multipart(subtype: str, parts: list[str]) -> str:
    boundary = _boundary()
    return (f'Content-Type: multipart/{subtype}; boundary="{boundary}"{CRLF}{CRLF}'
            f"--{boundary}{CRLF}" + f"{CRLF}--{boundary}{CRLF}".join(parts)
            + f"{CRLF}--{boundary}--{CRLF}")


def _written_text(content: str, content_type: str, *more: str) -> str:
    lines = [f"Content-Type: {content_type}", "Content-Transfer-Encoding: quoted-printable",
             *more]
    return CRLF.join(lines) + CRLF + CRLF + LINE_BREAK.sub(CRLF, _quoted(content))


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
