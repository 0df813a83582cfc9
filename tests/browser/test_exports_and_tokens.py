"""A data manager downloads the exports; a coordinator makes an API token and uses it."""

import io
import json
import zipfile
from datetime import date, timedelta
from urllib.request import Request, urlopen

import pytest
from playwright.sync_api import expect

from app.domain.access import Role
from tests.browser.pages import LoginPage
from tests.support import factories
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def participant(session, two_sites):
    p = factories.enrolled(session, two_sites["a"], "CS20AT04", date.today() - timedelta(10),
                           two_sites["coord_a"], number="SCR-1")
    factories.user(session, "dm-a", Role.DATA_MANAGER, two_sites["a"])
    session.commit()
    return p


def test_a_data_manager_downloads_the_csv_export(live_server, page, participant):
    LoginPage(page, live_server.url).open().sign_in("dm-a", PASSWORD)
    page.get_by_role("link", name="Exports").click()
    expect(page.get_by_role("heading", name="Exports")).to_be_visible()
    screenshot(page, "exports")
    row = page.get_by_role("row").filter(has_text="CS20AT04")
    with page.expect_download() as download:
        row.get_by_role("link", name="CSV files and data dictionary (zip)").click()
    with zipfile.ZipFile(io.BytesIO(download.value.path().read_bytes())) as archive:
        assert "visits.csv" in archive.namelist()
        assert "SITEA-SCR-1" in archive.read("visits.csv").decode()


def test_an_api_token_is_shown_once_and_works(live_server, page, participant):
    LoginPage(page, live_server.url).open().sign_in("coord-a", PASSWORD)
    page.get_by_role("link", name="Coord-A").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    page.get_by_label("What will use it").fill("lab import script")
    page.get_by_role("button", name="Create a token").click()
    secret = page.get_by_label("Token", exact=True).input_value()
    screenshot(page, "api-token-created")
    request = Request(f"{live_server.url}/api/v1/participants",
                      headers={"Authorization": f"Bearer {secret}"})
    with urlopen(request) as resp:
        codes = [p["participant_code"] for p in json.load(resp)["participants"]]
    assert codes == ["SITEA-SCR-1"]
    page.get_by_role("button", name="Revoke the token lab import script").click()
    expect(page.get_by_text("revoked")).to_be_visible()
    with pytest.raises(Exception, match="401"):
        urlopen(request)
