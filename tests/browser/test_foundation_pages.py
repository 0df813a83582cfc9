"""Staff sign in and see only their own sites; an admin creates a colleague."""

import pytest
from playwright.sync_api import expect

from tests.browser.pages import AdminUsersPage, LoginPage
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_coordinator_sees_own_site_only(live_server, page, two_sites):
    login = LoginPage(page, live_server.url).open()
    screenshot(page, "login")
    login.sign_in("coord-a", "wrong password here")
    expect(page.get_by_text("Unknown username or wrong password.")).to_be_visible()
    expect(page.get_by_label("Username", exact=True)).to_have_value("coord-a")
    screenshot(page, "login-error")

    login.sign_in("coord-a", PASSWORD)
    expect(page.get_by_role("heading", name="My sites")).to_be_visible()
    expect(page.get_by_role("link", name="SITEA")).to_be_visible()
    expect(page.get_by_text("SITEB")).to_have_count(0)
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    screenshot(page, "my-sites")

    page.get_by_role("link", name="SITEA").click()
    expect(page.get_by_text("local time zone Asia/Seoul")).to_be_visible()
    screenshot(page, "site")
    assert page.goto(f"{live_server.url}/sites/SITEB").status == 404

    page.goto(live_server.url)
    login.sign_out()
    expect(page.get_by_text("You are signed out.")).to_be_visible()


def test_admin_creates_a_user_and_grants_a_role(live_server, page, two_sites):
    LoginPage(page, live_server.url).open().sign_in("root-admin", PASSWORD)
    admin = AdminUsersPage(page, live_server.url)
    admin.create("nurse-b", "nurse-b@example.org", "Nora Nurse", "short")
    expect(page.get_by_text("Use at least 12 characters.")).to_be_visible()
    expect(page.get_by_label("Full name")).to_have_value("Nora Nurse")
    screenshot(page, "admin-new-user-error")

    page.get_by_label("Initial password").fill("a much longer password")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Account nurse-b created.")).to_be_visible()
    admin.grant("Coordinator", "SITEB")
    expect(page.get_by_text("Role granted.")).to_be_visible()
    expect(page.get_by_role("cell", name="SITEB")).to_be_visible()
    screenshot(page, "admin-user")

    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("link", name="nurse-b")).to_be_visible()
    screenshot(page, "admin-users")
    page.get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("cell", name="grant").first).to_be_visible()
    screenshot(page, "admin-audit")


def test_tablet_width_navigation(live_server, browser, two_sites):
    context = browser.new_context(viewport={"width": 820, "height": 1180})
    page = context.new_page()
    LoginPage(page, live_server.url).open().sign_in("root-admin", PASSWORD)
    expect(page.get_by_role("link", name="Audit trail")).to_be_visible()
    screenshot(page, "my-sites-tablet")
    context.close()
