"""The printable participant schedule: every visit with its window, for the binder."""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest

from tests.conftest import login
from tests.support import factories


@pytest.fixture
def participant(session, two_sites):
    start = date.today() - timedelta(days=30)
    p = factories.enrolled(session, two_sites["a"], "CS20AT04", start, two_sites["coord_a"],
                           number="007", subgroup="LN")
    session.commit()
    return p


def test_print_page_lists_every_visit(client, participant):
    login(client, "coord-a")
    resp = client.get(f"/participants/{participant.id}/print")
    assert resp.status_code == 200
    page = html.unescape(resp.get_data(as_text=True))
    assert participant.participant_code in page
    assert "CS20AT04" in page and "NCT04835883" in page
    assert "SITEA" in page and "Protocol version" in page
    assert "/static/print.css" in page
    assert "use your browser's Print" in page
    assert "<script" not in page  # works under a CSP without inline script
    assert f"All {len(participant.visits)} visits" in page
    for visit in participant.visits:
        assert visit.code in page and visit.name in page
        assert f"{visit.window_start} – {visit.window_end}" in page
        assert str(visit.target_date) in page
    assert any(v.window_ours for v in participant.visits) and "our window" in page
    assert "missed" in page or "completed" in page or "due" in page  # statuses as of today


def test_print_page_of_another_site_is_404(client, participant):
    login(client, "coord-b")
    assert client.get(f"/participants/{participant.id}/print").status_code == 404
    assert client.get("/participants/99999/print").status_code == 404


def test_print_page_needs_login(client, participant):
    resp = client.get(f"/participants/{participant.id}/print")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_print_stylesheet_hides_the_menu_on_paper(client):
    with client.get("/static/print.css") as resp:
        assert resp.status_code == 200
        css = resp.get_data(as_text=True)
    assert "@media print" in css and ".site-header" in css
    assert "size: A4" in css and "break-inside: avoid" in css
