"""A data manager locks a CRF and a participant in Chromium; the coordinator then finds them
read-only; unlocking without a reason is refused next to the field."""

from datetime import date

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.crf import services as crf_services
from app.crf.models import CrfEntry
from app.domain.access import Role
from app.visits import services as visits
from app.visits.models import Visit
from tests.browser.pages import LoginPage
from tests.support import factories
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser
DAY0 = date(2026, 3, 2)


class LockPanel:
    """The lock banner and form on a CRF page or a participant page."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def lock(self, what: str, reason: str) -> None:
        self.page.get_by_text(f"Lock this {what}").click()  # opens the panel
        self.page.get_by_label("Reason for locking (optional)").fill(reason)
        self.page.get_by_role("button", name=f"Lock {what}").click()

    def unlock(self, what: str, reason: str) -> None:
        self.page.get_by_text(f"Unlock this {what}").click()
        self.page.get_by_label("Reason for unlocking").fill(reason)
        self.page.get_by_role("button", name=f"Unlock {what}").click()


@pytest.fixture
def world(session, two_sites):
    factories.user(session, "dm-a", Role.DATA_MANAGER, two_sites["a"])
    p = factories.enrolled(session, two_sites["a"], "CS20AT04", DAY0, two_sites["coord_a"])
    session.commit()
    w1 = session.scalar(select(Visit).where(Visit.participant_id == p.id,
                                            Visit.code == "INF1_W1"))
    entry = CrfEntry(site_id=w1.site_id, participant_id=p.id, visit_id=w1.id, form_code="VS",
                     protocol_version_id=p.protocol_version_id)
    session.add(entry)
    session.flush()
    definition = visits.protocol_of(p.protocol_version).forms["VS"]
    crf_services.save(session, entry, definition, {"PULSE": {"value": "72", "unit": "bpm"}},
                      actor=two_sites["coord_a"], reason=None)
    session.commit()
    return {"p": p, "crf_url": f"/visits/{w1.id}/forms/VS"}


def test_lock_a_crf_and_a_participant(live_server, page, world):
    p, base = world["p"], live_server.url
    login = LoginPage(page, base)
    login.open().sign_in("dm-a", PASSWORD)
    page.goto(base + world["crf_url"])
    panel = LockPanel(page)
    panel.lock("CRF", "Source data verified for the interim analysis")
    expect(page.get_by_text("Locked CRF")).to_be_visible()
    banner = page.get_by_role("status", name="Locked")
    expect(banner).to_contain_text("This CRF is locked by Dm-A")
    expect(banner).to_contain_text("KST")
    expect(banner).to_contain_text("Source data verified for the interim analysis")
    expect(page.locator('[name="PULSE-value"]')).to_be_disabled()
    screenshot(page, "lock-crf")

    panel.unlock("CRF", "")  # no reason: refused, said next to the field
    expect(page.get_by_text("Give the reason for unlocking.")).to_be_visible()
    screenshot(page, "lock-unlock-needs-reason")
    page.get_by_role("link", name="Cancel").click()

    page.get_by_role("link", name=p.participant_code).click()
    screenshot(page, "lock-participant-open")
    LockPanel(page).lock("participant", "Last visit monitored")
    expect(page.get_by_role("status", name="Locked").first).to_contain_text(
        f"Participant {p.participant_code} is locked by Dm-A")
    screenshot(page, "lock-participant")
    login.sign_out()

    login.open().sign_in("coord-a", PASSWORD)
    page.goto(f"{base}/participants/{p.id}")
    expect(page.get_by_text("Last visit monitored")).to_be_visible()
    expect(page.get_by_role("button", name="Withdraw participant")).to_have_count(0)
    page.goto(base + world["crf_url"])
    expect(page.locator('[name="PULSE-value"]')).to_be_disabled()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    screenshot(page, "lock-crf-coordinator")


def test_study_lock_control(live_server, page, session, world):
    factories.user(session, "dm-all", Role.DATA_MANAGER)
    session.commit()
    LoginPage(page, live_server.url).open().sign_in("dm-all", PASSWORD)
    page.goto(f"{live_server.url}/studies/")
    panel = page.locator("details").filter(has_text="Lock CS20AT04")
    panel.get_by_text("Lock CS20AT04").click()
    panel.get_by_label("Reason for locking (optional)").fill("Database lock")
    screenshot(page, "lock-studies-open")
    panel.get_by_role("button", name="Lock study CS20AT04").click()
    expect(page.get_by_text("Locked study CS20AT04")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="CS20AT04")
    expect(row).to_contain_text("Locked by Dm-All")
    expect(row).to_contain_text("Database lock")
    screenshot(page, "lock-studies")
