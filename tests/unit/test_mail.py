"""A reminder as it goes on the wire: parts readable back as text, HTML and calendar, and
headers beyond ASCII encoded."""

from __future__ import annotations

import email
from dataclasses import dataclass
from datetime import UTC, datetime

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


def test_a_header_beyond_ascii_is_encoded():
    row = Row(subject="[SITEÄ] Visit reminders 2026-03-02: 1 due")
    written = mail.as_bytes(row, "ecrf@localhost", NOW)
    assert b"Subject: =?utf-8?" in written
    header = email.message_from_bytes(written)["Subject"]
    decoded = str(email.header.make_header(email.header.decode_header(header)))
    assert decoded == row.subject
