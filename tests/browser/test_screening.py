"""A coordinator screens two candidates for the randomized trial: one fails, one is enrolled by
the investigator and randomized; and a CS20AT04 candidate with a sub-group and mixed units."""

import json
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.config import PROJECT_ROOT
from app.domain.access import Role
from app.studies import services as study_services
from tests.browser.pages import LoginPage, ScreeningPage
from tests.support import factories
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser
CANDIDATES = PROJECT_ROOT / "tests" / "data" / "eligibility" / "candidates"


def _candidate(name: str) -> tuple[dict, str | None]:
    """A candidate's values as a coordinator types them: a birth date, never an age."""
    values = json.loads((CANDIDATES / f"{name}.json").read_text())
    if "AGE" in values:
        screened = date.fromisoformat(values["SCRDT"])
        born = screened.replace(year=screened.year - values.pop("AGE")) - timedelta(days=1)
        values["BRTHDTC"] = born.isoformat()
    return values, values.pop("_subgroup", None)


@pytest.fixture
def seed_studies(session, two_sites):
    for protocol in study_services.read_definitions(PROJECT_ROOT / "schedules",
                                                    PROJECT_ROOT / "forms"):
        study_services.store(session, protocol)
    factories.user(session, "pi-a", Role.INVESTIGATOR, two_sites["a"])
    dm = factories.user(session, "dm", Role.DATA_MANAGER)
    session.commit()
    from app.screening.services import set_seed
    from app.studies.models import Study

    study = session.scalar(select(Study).where(Study.code == "UCMSC-LN"))
    set_seed(session, study.id, "seed held by the data manager", actor=dm)
    session.commit()


def test_fail_one_enrol_and_randomize_another(live_server, page, seed_studies):
    login = LoginPage(page, live_server.url).open()
    login.sign_in("coord-a", PASSWORD)
    screening = ScreeningPage(page, live_server.url)

    screening.start("UCMSC-LN", "SITEA", "SCR-101")
    values, _ = _candidate("ucmsc_ln_ineligible")
    screening.enter(values)
    screening.save()
    expect(page.locator(".verdict-summary")).to_contain_text("Not eligible")
    screenshot(page, "screening-not-eligible")
    page.get_by_role("button", name="Record screen failure").click()
    expect(page.get_by_text("Screen failure of SCR-101 recorded.")).to_be_visible()
    expect(page.get_by_role("cell", name="screen failed")).to_be_visible()
    screenshot(page, "screening-log")

    screening.start("UCMSC-LN", "SITEA", "SCR-102")
    values, _ = _candidate("ucmsc_ln_eligible")
    screening.enter(values)
    screening.save()
    expect(page.locator(".verdict-summary")).to_contain_text("Eligible")
    expect(page.get_by_text("An investigator of this site confirms")).to_be_visible()
    url = page.url.split("#")[0]
    login.sign_out()

    login.sign_in("pi-a", PASSWORD)
    page.goto(url)
    page.get_by_role("button", name="Confirm eligibility and enrol").click()
    expect(page.get_by_text("Enrolled as SITEA-001.")).to_be_visible()
    page.get_by_role("button", name="Randomize").click()
    expect(page.get_by_text("SITEA-001 is allocated to")).to_be_visible()
    expect(page.get_by_role("button", name="Randomize")).to_have_count(0)
    screenshot(page, "participant-randomized")


def test_cs20at04_lupus_nephritis_with_mixed_units(live_server, page, seed_studies):
    LoginPage(page, live_server.url).open().sign_in("coord-a", PASSWORD)
    screening = ScreeningPage(page, live_server.url)
    screening.start("CS20AT04", "SITEA", "SCR-201")
    values, subgroup = _candidate("cs20at04_ln_eligible")
    screening.choose_subgroup(subgroup)
    screening.enter({**values, "CREAT": {"value": "1.3", "unit": "mg/dL"}})
    screening.save()
    expect(page.get_by_text("CREAT 1.3 mg/dL = 114.9 umol/L > 106 umol/L").first).to_be_visible()
    expect(page.locator(".verdict-summary")).to_contain_text("Eligible")
    screenshot(page, "screening-eligible")

    page.locator('[name="WEIGHT-unit"]').select_option(value="kg")
    page.locator('[name="WEIGHT-value"]').fill("heavy")
    screening.save()
    expect(page.get_by_text("Enter a number.")).to_be_visible()
    expect(page.locator('[name="WEIGHT-value"]')).to_have_value("heavy")
    screenshot(page, "screening-error")
