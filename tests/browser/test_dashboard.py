"""A coordinator opens the study dashboard from the list of studies, with the keyboard, and
reads enrolment over time as a chart and as a table; at desktop and at tablet width."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.crf.models import CrfEntry
from app.visits.models import Visit
from tests.browser.pages import LoginPage
from tests.support import factories
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def enrolled(session, two_sites):
    """Seven participants at SITEA enrolled over five months, one at SITEB; a few visits done
    (one late, one missed), some CRFs entered."""
    today = date.today()
    people = []
    for n in range(1, 8):
        start = today - timedelta(days=30 * (8 - n))
        p = factories.enrolled(session, two_sites["a"], "CS20AT04", start, two_sites["coord_a"],
                               f"SCR-{n}", "LN" if n % 3 else "LC")
        p.enrolled_at = datetime(start.year, start.month, start.day, 9, tzinfo=UTC)
        people.append(p)
    other = factories.enrolled(session, two_sites["b"], "CS20AT04", today, two_sites["coord_b"],
                               "SCR-1", "LN")
    for i, p in enumerate(people[:4]):
        visit = session.scalar(select(Visit).where(Visit.participant_id == p.id,
                                                   Visit.code == "INF1"))
        visit.actual_date, visit.status = visit.target_date, "completed"
        session.add(CrfEntry(site_id=visit.site_id, participant_id=p.id, visit_id=visit.id,
                             form_code="VS", protocol_version_id=p.protocol_version_id))
        d3 = session.scalar(select(Visit).where(Visit.participant_id == p.id,
                                                Visit.code == "INF1_D3"))
        if i == 0:
            d3.actual_date, d3.status = d3.window_end + timedelta(days=2), \
                "completed_out_of_window"
        elif i == 1:
            d3.status = "missed"
    session.commit()
    return people, other

@pytest.mark.usefixtures("enrolled")
def test_dashboard_chart_and_table(live_server, page):
    LoginPage(page, live_server.url).open().sign_in("coord-a", PASSWORD)
    expect(page.get_by_role("heading", name="My sites")).to_be_visible()
    page.goto(f"{live_server.url}/dashboard/")
    expect(page.get_by_role("heading", name="Study dashboards")).to_be_visible()

    link = page.get_by_role("link", name="CS20AT04 dashboard")
    link.focus()
    page.keyboard.press("Enter")  # keyboard only
    expect(page.get_by_role("heading", name="CS20AT04 dashboard")).to_be_visible()
    assert page.url == f"{live_server.url}/dashboard/CS20AT04"

    chart = page.get_by_role("img", name="CS20AT04: participants enrolled, cumulative, per month")
    expect(chart).to_be_visible()
    assert chart.evaluate("el => el.tagName.toLowerCase()") == "svg"
    box = chart.bounding_box()
    assert box["width"] > 500 and box["height"] > 150
    expect(page.get_by_role("img", name="CS20AT04: participants enrolled per site")).to_be_visible()

    months = page.get_by_role("table", name="Enrolment per month")
    expect(months).to_be_visible()
    this_month = date.today().strftime("%Y-%m")
    expect(months.get_by_role("row").filter(has_text=this_month)
           .get_by_role("cell").last).to_have_text("7")
    sites = page.get_by_role("table", name="Screening and enrolment per site")
    expect(sites.get_by_role("row").filter(has_text="SITEA").get_by_role("cell").nth(3)) \
        .to_have_text("7")
    expect(page.get_by_text("SITEB")).to_have_count(0)  # another site's numbers: not here
    visits = page.get_by_role("table", name="Visit compliance, open queries and CRFs still to "
                                            "enter, per site")
    expect(visits.get_by_role("row").filter(has_text="SITEA").get_by_role("cell").nth(3)) \
        .to_have_text("80 %")
    screenshot(page, "dashboard")

    page.set_viewport_size({"width": 820, "height": 1180})
    expect(chart).to_be_visible()
    sticking_out = page.evaluate("""() => [...document.querySelectorAll('main *')]
        .filter(e => !e.closest('.table-scroll') && e.getBoundingClientRect().right > 820)
        .map(e => e.tagName + '.' + e.className)""")
    assert sticking_out == [], "the dashboard is wider than a tablet"
    assert chart.bounding_box()["width"] <= 820
    screenshot(page, "dashboard-tablet")

    region = page.get_by_role("region", name="Visit compliance, open queries and CRFs still to "
                                             "enter, per site")
    region.focus()  # a wide table scrolls with the arrow keys once focused
    expect(region).to_be_focused()
