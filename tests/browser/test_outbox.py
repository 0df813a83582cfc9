"""The outbox page and a site's reminder settings, as a coordinator and an admin see them."""

from datetime import UTC, date, datetime

import pytest
from playwright.sync_api import expect

from app.notify.models import OutboxMessage
from tests.browser.pages import LoginPage
from tests.support.browser import screenshot
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def messages(session, two_sites):
    now = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    for n, (state, site) in enumerate((("sent", "a"), ("pending", "a"), ("failed", "a"),
                                       ("sent", "b"))):
        session.add(OutboxMessage(
            dedupe_key=f"k{n}", message_id=f"<m{n}@test>", site_id=two_sites[site].id,
            user_id=two_sites[f"coord_{site}"].id, recipient=f"coord-{site}@example.org",
            subject=f"[SITE{site.upper()}] Visit reminders {date(2026, 3, 2)}: 1 due",
            body_text="-", body_html="-", state=state, attempts=1 if state != "failed" else 12,
            created_at=now, next_attempt_at=now, sent_at=now if state == "sent" else None,
            last_error="550 5.1.1 no such mailbox" if state == "failed" else None))
    session.commit()


def test_outbox_shows_own_sites_and_resends(live_server, page, messages):
    LoginPage(page, live_server.url).open().sign_in("coord-a", PASSWORD)
    page.get_by_role("link", name="Outbox").click()
    expect(page.get_by_role("cell", name="coord-a@example.org")).to_have_count(3)
    expect(page.get_by_text("coord-b@example.org")).to_have_count(0)
    screenshot(page, "outbox")
    page.get_by_role("link", name="failed (1)").click()
    page.get_by_role("button", name="Resend").click()
    expect(page.get_by_text("Queued again")).to_be_visible()


def test_admin_sets_a_sites_reminders(live_server, page, two_sites):
    LoginPage(page, live_server.url).open().sign_in("root-admin", PASSWORD)
    page.goto(f"{live_server.url}/admin/sites/SITEA/reminders")
    page.get_by_label("Days before a window opens").fill("3")
    page.get_by_role("checkbox", name="upcoming").uncheck()
    page.get_by_label("Reason for the change").fill("fewer emails")
    screenshot(page, "site-reminders")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Reminder settings of SITEA saved.")).to_be_visible()
    expect(page.get_by_role("link", name="due, overdue, missed; lead 3 d; digest")).to_be_visible()
