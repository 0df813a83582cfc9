"""A coordinator makes a calendar feed and subscribes to it; then prints a participant's schedule
for the binder (on screen, and as the browser prints it)."""

from datetime import date, timedelta
from urllib.request import urlopen

import pytest
from icalendar import Calendar
from playwright.sync_api import expect

from tests.browser.pages import LoginPage
from tests.support import factories
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def participant(session, two_sites):
    start = date.today() - timedelta(days=40)
    p = factories.enrolled(session, two_sites["a"], "CS20AT04", start, two_sites["coord_a"],
                           number="SCR-1", subgroup="LN")
    session.commit()
    return p


def test_create_a_feed_and_read_it(live_server, page, participant):
    LoginPage(page, live_server.url).open().sign_in("coord-a", PASSWORD)
    page.goto(f"{live_server.url}/feeds/")
    expect(page.get_by_role("heading", name="Calendar feeds")).to_be_visible()
    expect(page.get_by_text("You have no calendar feed yet.")).to_be_visible()
    page.get_by_label("Visits of").select_option(label="All my sites (personal feed)")
    page.get_by_role("button", name="Create feed").click()
    address = page.get_by_label("Feed address", exact=True)
    expect(address).to_be_visible()
    url = address.input_value()
    assert url.startswith(f"{live_server.url}/feeds/") and url.endswith(".ics")
    expect(page.get_by_role("button", name="Revoke the feed of all my sites")).to_be_visible()
    screenshot(page, "feeds")

    with urlopen(url) as resp:  # what a calendar app does: no cookie, no login
        assert resp.headers["Content-Type"] == "text/calendar; charset=utf-8"
        cal = Calendar.from_ical(resp.read())
    summaries = [str(e["SUMMARY"]) for e in cal.walk("VEVENT")]
    assert summaries and all(s.startswith(f"{participant.participant_code}: ") for s in summaries)

    page.goto(f"{live_server.url}/feeds/")
    expect(page.get_by_label("Feed address", exact=True)).to_have_count(0)  # shown once only
    page.get_by_role("button", name="Revoke the feed of all my sites").click()
    expect(page.get_by_text("Feed revoked")).to_be_visible()
    with pytest.raises(Exception, match="404"):
        urlopen(url)


def test_print_schedule(live_server, page, participant):
    LoginPage(page, live_server.url).open().sign_in("coord-a", PASSWORD)
    page.goto(f"{live_server.url}/participants/{participant.id}/print")
    expect(page.get_by_role("heading", name=f"Visit schedule · {participant.participant_code}"))\
        .to_be_visible()
    rows = page.locator("table.schedule tbody tr")
    expect(rows).to_have_count(len(participant.visits))
    expect(page.get_by_text("use your browser's Print")).to_be_visible()
    expect(page.locator(".site-header")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Notes / initials")).to_be_hidden()
    screenshot(page, "print-schedule")

    # the printable width of A4 at 96 dpi: 210 mm less the 2 × 12 mm margins of print.css
    page.set_viewport_size({"width": 703, "height": 1000})
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".print-hint")).to_be_hidden()
    expect(page.get_by_role("button")).to_have_count(0)
    expect(page.get_by_role("columnheader", name="Notes / initials")).to_be_visible()
    expect(rows.first).to_be_visible()
    screenshot(page, "print-schedule-print")
    pdf = page.pdf(format="A4", print_background=False)  # as the browser would print it
    assert pdf.startswith(b"%PDF")
