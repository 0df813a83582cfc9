"""A coordinator corrects a screening value and reads the screening CRF's history."""

import pytest
from playwright.sync_api import expect

from tests.browser.pages import LoginPage, ScreeningPage
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_history_shows_the_correction_and_its_reason(live_server, page, two_sites, mini_study):
    LoginPage(page, live_server.url).open().sign_in("coord-a", PASSWORD)
    screening = ScreeningPage(page, live_server.url)
    screening.start("MINI", "SITEA", "SCR-201")
    screening.enter({"SCRDT": "2026-05-01", "BRTHDTC": "1980-05-02", "SEX": "F",
                     "CREAT": {"value": "1.3", "unit": "mg/dL"}, "ANATITER": "1:160"})
    screening.save()
    screening.enter({"CREAT": {"value": "1.5", "unit": "mg/dL"}})
    page.get_by_label("Reason for changing saved values").fill("lab re-reported the sample")
    screening.save()
    expect(page.get_by_role("link", name="History of every value")).to_be_visible()
    page.evaluate("window.scrollTo(0, 0)")  # saving lands on #verdict
    screenshot(page, "screening-detail-history-link", full_page=False)

    page.get_by_role("link", name="History of every value").click()
    expect(page.get_by_role("heading", name="History of Screening SCR-201")).to_be_visible()
    correction = page.get_by_role("row").filter(has_text="lab re-reported the sample")
    expect(correction).to_contain_text("Serum creatinine")
    expect(correction.get_by_role("cell", name="1.3 mg/dL", exact=True)).to_be_visible()
    expect(correction.get_by_role("cell", name="1.5 mg/dL", exact=True)).to_be_visible()
    expect(correction).to_contain_text("KST")
    screenshot(page, "screening-history")

    page.get_by_role("link", name="Screening SCR-201").click()
    expect(page.get_by_role("heading", name="Screening SCR-201")).to_be_visible()
