"""A reminder as it goes on the wire: written directly, the same bytes the email package
makes of the same message; parts readable back as text, HTML and calendar."""

from __future__ import annotations

import email
import io
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from email.generator import BytesGenerator

import pytest

from app.notify import mail

NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
ICS = "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20260302\nEND:VEVENT\n" \
      "END:VCALENDAR\n"


@dataclass
class Row:
    subject: str = "[SITEA] Visit reminders 2026-03-02: 1 due"
    recipient: str = "coord-a@example.org"
    message_id: str = "<0123456789abcdef@ecrf.reminders>"
    body_text: str = "- CS20AT04-001: Day 28 is due. Target 2026-03-02.\nFrom the site.\n.\n"
    body_html: str = "<p>CS20AT04-001 – " + "due " * 40 + "</p>\n"
    ics: str | None = None


def _counting():
    """Boundaries =_000…0, =_000…1, …: the same for both ways of writing a message."""
    counter = itertools.count()
    return lambda: f"=_{next(counter):024x}"


def _generated(row: Row) -> bytes:
    buffer = io.BytesIO()
    BytesGenerator(buffer, mangle_from_=False).flatten(mail.as_email(row, "ecrf@localhost", NOW),
                                                       linesep="\r\n")
    return buffer.getvalue()


@pytest.mark.parametrize("ics", [None, ICS])
def test_written_directly_as_the_email_package_writes_it(monkeypatch, ics):
    row = Row(ics=ics)
    monkeypatch.setattr(mail, "_boundary", _counting())
    written = mail.as_bytes(row, "ecrf@localhost", NOW)
    monkeypatch.setattr(mail, "_boundary", _counting())
    assert written == _generated(row)


def test_parts_read_back_as_written():
    message = email.message_from_bytes(mail.as_bytes(Row(ics=ICS), "ecrf@localhost", NOW))
    assert message["Message-ID"] == "<0123456789abcdef@ecrf.reminders>"
    parts = {p.get_content_type(): p for p in message.walk()}
    assert parts["text/plain"].get_payload(decode=True).decode() == \
        Row.body_text.replace("\n", "\r\n")
    assert "CS20AT04-001 –" in parts["text/html"].get_payload(decode=True).decode()
    calendar = parts["text/calendar"]
    assert calendar.get_filename() == "visits.ics" and calendar.get_param("method") == "PUBLISH"
    assert b"DTSTART;VALUE=DATE:20260302" in calendar.get_payload(decode=True)


def test_a_header_beyond_ascii_goes_through_the_email_package():
    row = Row(subject="[SITEÄ] Visit reminders 2026-03-02: 1 due")
    written = mail.as_bytes(row, "ecrf@localhost", NOW)
    assert b"Subject: =?utf-8?" in written
    header = email.message_from_bytes(written)["Subject"]
    decoded = str(email.header.make_header(email.header.decode_header(header)))
    assert decoded == row.subject
