"""A coordinator plans the week: month, week and agenda views, filters, worklist, missed list."""

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.pages import LoginPage
from tests.support import factories
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def visits(session, two_sites):
    for n, days_ago in enumerate((3, 30, 90)):
        factories.enrolled(session, two_sites["a"], "CS20AT04",
                           date.today() - timedelta(days=days_ago), two_sites["coord_a"],
                           number=f"SCR-{n}")
    session.commit()


def test_calendar_views_filters_and_worklist(live_server, page, visits):
    LoginPage(page, live_server.url).open().sign_in("coord-a", PASSWORD)
    page.get_by_role("link", name="Calendar", exact=True).click()
    expect(page.get_by_role("heading", name="Visit calendar")).to_be_visible()
    expect(page.locator("a.chip").first).to_be_visible()
    screenshot(page, "calendar-month")

    # the month of the newest participant's infusion (missed: never recorded), even when
    # today is early in a month that does not show it
    three_days_ago = date.today() - timedelta(days=3)
    page.goto(f"{live_server.url}/calendar/?date={three_days_ago.isoformat()}")
    page.get_by_label("Status").select_option("missed")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("a.chip.status-missed").first).to_be_visible()
    expect(page.locator("a.chip.status-scheduled")).to_have_count(0)

    page.get_by_role("link", name="Week", exact=True).click()
    expect(page.get_by_label("Status")).to_have_value("missed")  # filters carried along
    page.get_by_label("Status").select_option("")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", name="Week of")).to_be_visible()
    screenshot(page, "calendar-week")

    page.get_by_role("link", name="Agenda", exact=True).click()
    expect(page.get_by_role("heading", name="Agenda")).to_be_visible()
    screenshot(page, "calendar-agenda")

    page.get_by_role("link", name="Worklist", exact=True).first.click()
    expect(page.get_by_role("heading", name="Today's worklist")).to_be_visible()
    expect(page.get_by_role("link", name="Day 3 after infusion 1")).to_be_visible()
    screenshot(page, "worklist")
    page.get_by_role("link", name="Missed", exact=True).click()
    expect(page.get_by_role("heading", name="Missed visits")).to_be_visible()

    page.keyboard.press("Tab")  # keyboard: the first link of the page takes focus
    assert page.evaluate("document.activeElement.tagName") == "A"


def test_calendar_at_tablet_width(live_server, browser, visits):
    context = browser.new_context(viewport={"width": 820, "height": 1180})
    page = context.new_page()
    LoginPage(page, live_server.url).open().sign_in("coord-a", PASSWORD)
    page.goto(f"{live_server.url}/calendar/")
    expect(page.locator("a.chip").first).to_be_visible()
    screenshot(page, "calendar-month-tablet")
    context.close()
