"""A coordinator pages through a big participant list and finds one participant by ID."""

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.studies.models import ProtocolVersion
from tests.browser.pages import LoginPage
from tests.support import bulk, factories
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_page_through_and_search(live_server, page, session, two_sites):
    start = date.today() - timedelta(days=30)
    factories.enrolled(session, two_sites["a"], "CS20AT04", start, two_sites["coord_a"])
    session.commit()
    bulk.add_participants(session, session.scalar(select(ProtocolVersion)), two_sites["a"].id,
                          two_sites["coord_a"].id, 120, start)
    session.commit()
    LoginPage(page, live_server.url).open().sign_in("coord-a", PASSWORD)
    page.get_by_role("link", name="Participants", exact=True).click()
    expect(page.get_by_text("1–50 of 121, newest enrolment first")).to_be_visible()
    expect(page.get_by_text("Page 1 of 3")).to_be_visible()
    screenshot(page, "participant-list")

    page.get_by_role("link", name="Older →").click()
    expect(page.get_by_text("51–100 of 121")).to_be_visible()
    page.get_by_label("Participant ID contains").fill("SCR-1")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("link", name="SITEA-SCR-1")).to_be_visible()
    expect(page.get_by_text("1–1 of 1")).to_be_visible()
    screenshot(page, "participant-list-search")
