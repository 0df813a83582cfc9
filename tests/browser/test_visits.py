"""A coordinator records the first infusion, with its infusion record, and sees the timeline
update; then records the week-12 infusion two days late and confirms the moved visits."""

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.pages import LoginPage
from tests.support import factories
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def participant(session, two_sites):
    start = date.today() - timedelta(days=86)
    p = factories.enrolled(session, two_sites["a"], "CS20AT04", start, two_sites["coord_a"],
                           subgroup="LN")
    session.commit()
    return p, start


def test_infusion_record_and_timeline(live_server, page, participant):
    p, start = participant
    LoginPage(page, live_server.url).open().sign_in("coord-a", PASSWORD)
    page.goto(f"{live_server.url}/participants/{p.id}")
    expect(page.get_by_role("heading", name=p.participant_code)).to_be_visible()
    infusion_row = page.get_by_role("row").filter(has_text="Infusion 1 (day 0)")
    expect(infusion_row.get_by_text("missed")).to_be_visible()
    screenshot(page, "timeline-before")

    infusion_row.get_by_role("link").click()
    page.get_by_label("Visit date").fill(start.isoformat())
    page.get_by_role("button", name="Record the visit date").click()
    expect(page.get_by_text("date recorded")).to_be_visible()

    page.get_by_role("link", name="CS20AT04 infusion").click()
    page.locator('[name="WEIGHT-value"]').fill("58")
    page.locator('[name="WEIGHT-unit"]').select_option("kg")
    page.locator('[name="EXDOSE-value"]').fill("110000000")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("116 000 000 (1.16 × 10^8) cells")).to_be_visible()
    expect(page.get_by_text("-5.2")).to_be_visible()
    screenshot(page, "infusion-record")

    page.get_by_role("link", name=p.participant_code).click()
    infusion_row = page.get_by_role("row").filter(has_text="Infusion 1 (day 0)")
    expect(infusion_row.get_by_text("completed")).to_be_visible()
    expect(infusion_row.get_by_role("cell", name=start.isoformat(), exact=True)).to_have_count(2)
    expect(infusion_row.get_by_role("cell", name="1/6")).to_be_visible()

    page.get_by_role("table").get_by_role("link", name="Infusion 2 (week 12)").click()
    page.get_by_label("Visit date").fill(date.today().isoformat())  # day 86, planned day 84
    page.get_by_role("button", name="Record the visit date").click()
    expect(page.get_by_text("This date moves")).to_be_visible()
    screenshot(page, "reanchor-confirm")
    page.get_by_role("button", name="Confirm the date and move these visits").click()
    expect(page.get_by_text("later visits moved with it")).to_be_visible()
    page.get_by_role("link", name=p.participant_code).click()
    d3 = page.get_by_role("row").filter(has_text="Day 3 after infusion 2")
    new_target = (date.today() + timedelta(days=3)).isoformat()
    expect(d3.get_by_role("cell", name=new_target, exact=True)).to_be_visible()
    screenshot(page, "timeline-after")
