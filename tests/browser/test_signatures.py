"""An investigator signs a visit's CRF in Chromium: a wrong password is refused next to the
field, the right one signs; a later change by the coordinator shows the signature invalidated.
Then the investigator signs the whole visit."""

from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.crf import services as crf_services
from app.crf.models import CrfEntry
from app.domain.access import Role
from app.domain.signing import APPROVED
from app.visits import services as visits
from app.visits.models import Visit
from tests.browser.pages import LoginPage
from tests.support import factories
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser


class SignaturePanel:
    """The 'Signatures' section of a CRF or visit page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.section = page.locator("section#signatures")

    def sign(self, meaning: str, password: str) -> None:
        self.section.get_by_label("Meaning of your signature").select_option(label=meaning)
        self.section.get_by_label("Your password").fill(password)
        self.section.get_by_role("button", name="Sign this").click()

    def signature(self, name: str):
        return self.section.locator(".signature").filter(has_text=name)


def _save_vitals(session, visit: Visit, actor, pulse: str, reason: str | None = None) -> None:
    definition = visits.protocol_of(visit.participant.protocol_version).forms["VS"]
    entry = session.scalar(select(CrfEntry).where(CrfEntry.visit_id == visit.id))
    if entry is None:
        entry = CrfEntry(site_id=visit.site_id, participant_id=visit.participant_id,
                         visit_id=visit.id, form_code="VS",
                         protocol_version_id=visit.participant.protocol_version_id)
        session.add(entry)
        session.flush()
    values = {"PULSE": {"value": pulse, "unit": "bpm"}, "SYSBP": {"value": "118", "unit": "mmHg"},
              "TEMP": {"value": "36.7", "unit": "degC"}}
    crf_services.save(session, entry, definition, values, actor=actor, reason=reason)
    session.commit()


@pytest.fixture
def visit(session, two_sites):
    person = factories.user(session, "pi-a", Role.INVESTIGATOR, two_sites["a"])
    person.full_name = "Dr Min-ji Park"
    start = date.today() - timedelta(days=10)
    p = factories.enrolled(session, two_sites["a"], "CS20AT04", start, two_sites["coord_a"])
    session.commit()
    w1 = session.scalar(select(Visit).where(Visit.participant_id == p.id,
                                            Visit.code == "INF1_W1"))
    visits.record_date(session, w1, start + timedelta(days=7), actor=two_sites["coord_a"])
    _save_vitals(session, w1, two_sites["coord_a"], "72")
    return w1


def test_investigator_signs_a_crf(live_server, page, session, two_sites, visit):
    LoginPage(page, live_server.url).open().sign_in("pi-a", PASSWORD)
    page.goto(f"{live_server.url}/visits/{visit.id}/forms/VS")
    panel = SignaturePanel(page)
    expect(panel.section.get_by_text("Not signed yet.")).to_be_visible()

    panel.sign(APPROVED, "not my password")
    expect(panel.section.get_by_text("That password is not right.")).to_be_visible()
    expect(panel.section.get_by_label("Meaning of your signature")).to_have_value(APPROVED)
    expect(panel.section.get_by_label("Your password")).to_have_value("")
    screenshot(page, "signature-crf-refused", full_page=False)

    panel.sign(APPROVED, PASSWORD)
    expect(page.get_by_text("Signed by Dr Min-ji Park")).to_be_visible()
    mine = panel.signature("Dr Min-ji Park")
    expect(mine).to_contain_text(APPROVED)
    expect(mine).to_contain_text("KST")
    expect(mine.get_by_text("Valid", exact=True)).to_be_visible()
    expect(panel.section.get_by_role("button", name="Sign this CRF")).to_be_hidden()
    expect(panel.section.get_by_text("Sign again with another meaning")).to_be_visible()
    screenshot(page, "signature-crf")

    _save_vitals(session, visit, two_sites["coord_a"], "80", reason="transcription error")
    page.reload()
    expect(mine.get_by_text("Invalidated", exact=True)).to_be_visible()
    expect(mine).to_contain_text("were changed by Coord-A")
    expect(panel.section.get_by_role("button", name="Sign this CRF")).to_be_visible()
    screenshot(page, "signature-crf-invalidated")


def test_investigator_signs_a_visit(live_server, page, visit):
    LoginPage(page, live_server.url).open().sign_in("pi-a", PASSWORD)
    page.goto(f"{live_server.url}/visits/{visit.id}")
    panel = SignaturePanel(page)
    panel.sign(APPROVED, PASSWORD)
    expect(panel.signature("Dr Min-ji Park").get_by_text("Valid", exact=True)).to_be_visible()
    screenshot(page, "signature-visit")
