"""In Chromium: the range check has opened a query on a saved CRF; a monitor raises another
from the CRF page, the coordinator answers it, the monitor closes and reopens it; the counts
show on the participant page and the dashboard."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.crf import services as crf
from app.crf.models import CrfEntry
from app.domain.access import Role
from app.studies.services import protocol_of
from app.visits.models import Visit
from tests.browser.pages import LoginPage
from tests.support import factories
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser


class QueryPages:
    """What monitors and coordinators do with queries."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page, self.base_url = page, base_url

    def sign_in(self, username: str) -> None:
        LoginPage(self.page, self.base_url).open().sign_in(username, PASSWORD)

    def sign_out(self) -> None:
        LoginPage(self.page, self.base_url).sign_out()

    def raise_on(self, item_label: str, question: str) -> None:
        self.page.get_by_role("link", name=f"Raise query on {item_label}").click()
        self.page.get_by_label("Question").fill(question)
        screenshot(self.page, "query-raise")
        self.page.get_by_role("button", name="Raise query").click()

    def open_list(self) -> None:
        self.page.get_by_role("banner").get_by_role("link", name="Queries", exact=True).click()

    def open_from_list(self, text: str) -> None:
        self.open_list()
        self.page.get_by_role("row").filter(has_text=text).get_by_role("link").first.click()

    def step(self, label: str, text: str, button: str) -> None:
        if text:
            self.page.get_by_label(label).fill(text)
        self.page.get_by_role("button", name=button).click()


@pytest.fixture
def saved_vitals(session, two_sites):
    """A participant at site A whose week-1 vital signs are saved, the blood pressure high."""
    start = date.today() - timedelta(days=10)
    p = factories.enrolled(session, two_sites["a"], "CS20AT04", start, two_sites["coord_a"])
    factories.user(session, "mon-a", Role.MONITOR, two_sites["a"])
    visit = session.scalar(select(Visit).where(Visit.participant_id == p.id,
                                               Visit.code == "INF1_W1"))
    entry = CrfEntry(site_id=p.site_id, participant_id=p.id, visit_id=visit.id,
                     form_code="VS", protocol_version_id=p.protocol_version_id)
    session.add(entry)
    session.flush()
    form = protocol_of(p.protocol_version).forms["VS"]
    crf.save(session, entry, form, {"SYSBP": {"value": "230", "unit": "mmHg"},
                                    "DIABP": {"value": "85", "unit": "mmHg"},
                                    "PULSE": {"value": "70", "unit": "bpm"}},
             actor=two_sites["coord_a"], reason=None)
    session.commit()
    return p, f"/visits/{visit.id}/forms/VS"


def test_query_flow(live_server, page, saved_vitals):
    participant, crf_path = saved_vitals
    pages = QueryPages(page, live_server.url)
    pages.sign_in("mon-a")
    page.goto(live_server.url + crf_path)
    summary = page.get_by_role("region", name="Queries on this form")
    expect(summary).to_contain_text("Systolic blood pressure")
    expect(summary).to_contain_text("(range check)")
    pages.raise_on("Pulse rate", "The source document says 77 bpm. Please check.")
    expect(page.get_by_text("raised on Pulse rate")).to_be_visible()
    pulse = page.locator("#item-PULSE")
    expect(pulse.get_by_role("link", name="Query #2")).to_be_visible()
    screenshot(page, "query-crf")
    pages.sign_out()

    pages.sign_in("coord-a")
    pages.open_from_list("source document says 77")
    expect(page.get_by_role("heading", name="Query #2 on Pulse rate")).to_be_visible()
    screenshot(page, "query-detail-open")
    pages.step("Answer", "", "Send answer")  # nothing written: refused, said next to the field
    expect(page.get_by_text("Write the answer.")).to_be_visible()
    pages.step("Answer", "Re-checked: 70 bpm; 77 was the next day's reading.", "Send answer")
    expect(page.get_by_text("Answer recorded.")).to_be_visible()
    expect(page.get_by_role("button", name="Close query")).to_have_count(0)
    pages.open_list()
    expect(page.get_by_role("row").filter(has_text="Re-checked")).to_have_count(0)
    screenshot(page, "query-list")
    pages.sign_out()

    pages.sign_in("mon-a")
    pages.open_from_list("source document says 77")
    pages.step("Note on closing (optional)", "Agreed with the source.", "Close query")
    expect(page.get_by_text("Query closed.")).to_be_visible()
    pages.step("Why reopen?", "Please file the next day's reading as unscheduled.",
               "Reopen query")
    expect(page.get_by_text("Query reopened.")).to_be_visible()
    conversation = page.locator(".conversation li")
    expect(conversation).to_have_count(4)
    screenshot(page, "query-detail-reopened")

    page.goto(f"{live_server.url}/participants/{participant.id}")
    expect(page.get_by_role("link", name="2 open queries")).to_be_visible()
    screenshot(page, "query-participant")
    page.goto(f"{live_server.url}/dashboard/CS20AT04")
    visits = page.get_by_role("table", name="Visit compliance, open queries and CRFs still to "
                                            "enter, per site")
    expect(visits.get_by_role("row").filter(has_text="SITEA").get_by_role("cell").nth(6)) \
        .to_have_text("2")
    screenshot(page, "query-dashboard")
