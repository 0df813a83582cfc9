"""Calendar feeds: made, regenerated and revoked on /feeds/; read without login by token, showing
only what the token's owner may see, parsed with the icalendar library."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import event, select

from app.auth import services as accounts
from app.auth.models import RoleGrant, User
from app.domain.access import Role
from app.feeds.models import FeedToken
from app.model_base import utcnow
from app.visits.models import Visit
from tests.conftest import login
from tests.support import factories

FEED_URL = re.compile(r'value="(http://localhost/feeds/([A-Za-z0-9_-]+)\.ics)"')


@pytest.fixture
def enrolled(session, two_sites):
    """One CS20AT04 participant at each site, started 30 days ago."""
    start = date.today() - timedelta(days=30)
    a = factories.enrolled(session, two_sites["a"], "CS20AT04", start, two_sites["coord_a"],
                           number="001", subgroup="LN")
    b = factories.enrolled(session, two_sites["b"], "CS20AT04", start, two_sites["coord_b"],
                           number="001", subgroup="LN")
    session.commit()
    return {"a": a, "b": b, "start": start}


def create_feed(client, site_id: int | str = "") -> tuple[str, str]:
    """Creates a feed as the signed-in user; returns its absolute URL and its path."""
    resp = client.post("/feeds/new", data={"site": str(site_id)})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.headers["Cache-Control"] == "no-store"
    match = FEED_URL.search(resp.get_data(as_text=True))
    assert match, "the new feed's address is shown"
    return match.group(1), f"/feeds/{match.group(2)}.ics"


def events(app, path: str) -> list:
    """The feed's events, fetched by a client that never signed in."""
    resp = app.test_client().get(path)
    assert resp.status_code == 200, resp.status_code
    assert resp.headers["Content-Type"] == "text/calendar; charset=utf-8"
    cal = Calendar.from_ical(resp.data)
    assert str(cal["X-WR-CALNAME"]).startswith("Lupus eCRF visits")
    return list(cal.walk("VEVENT"))


def test_create_regenerate_and_revoke(app, client, session, two_sites, enrolled):
    login(client, "coord-a")
    assert "no calendar feed yet" in client.get("/feeds/").get_data(as_text=True)
    url, path = create_feed(client)
    token = path.removeprefix("/feeds/").removesuffix(".ics")

    (feed,) = session.scalars(select(FeedToken)).all()
    assert feed.user_id == two_sites["coord_a"].id and feed.site_id is None
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()  # the token: not kept
    page = client.get("/feeds/").get_data(as_text=True)
    assert "All my sites" in page and token not in page  # the address is shown once only
    assert events(app, path)

    resp = client.post(f"/feeds/{feed.id}/regenerate")
    assert resp.status_code == 200
    new_url = FEED_URL.search(resp.get_data(as_text=True)).group(1)
    new_path = new_url.removeprefix("http://localhost")
    assert new_url != url
    assert app.test_client().get(path).status_code == 404  # the old address is dead
    assert events(app, new_path)
    session.rollback()  # a new transaction: see what the requests wrote
    rows = session.scalars(select(FeedToken).order_by(FeedToken.id)).all()
    assert [r.revoked_at is not None for r in rows] == [True, False]
    assert rows[1].site_id is None

    resp = client.post(f"/feeds/{rows[1].id}/revoke")
    assert resp.status_code == 302
    assert "Feed revoked" in client.get("/feeds/").get_data(as_text=True)
    assert app.test_client().get(new_path).status_code == 404
    assert client.post(f"/feeds/{rows[1].id}/revoke").status_code == 404  # already gone


def test_feed_shows_own_sites_visits_only(app, client, session, two_sites, enrolled):
    login(client, "coord-a")
    _url, path = create_feed(client)
    found = events(app, path)
    a, b = enrolled["a"], enrolled["b"]
    first, last = date.today() - timedelta(days=90), date.today() + timedelta(days=400)
    expected = session.scalars(select(Visit).where(
        Visit.participant_id == a.id, Visit.window_end >= first,
        Visit.window_start <= last)).all()
    assert len(expected) < len(a.visits)  # the 3- and 5-year follow-ups are beyond the window
    assert sorted(str(e["UID"]) for e in found) == sorted(
        f"visit-{v.id}@lupus-ecrf" for v in expected)
    by_uid = {str(e["UID"]): e for e in found}
    for visit in expected:
        ev = by_uid[f"visit-{visit.id}@lupus-ecrf"]
        assert str(ev["SUMMARY"]) == f"{a.participant_code}: {visit.name}"
        assert ev.decoded("DTSTART") == visit.window_start  # all-day: dates, not times
        assert ev.decoded("DTEND") == visit.window_end + timedelta(days=1)
        assert str(ev["LOCATION"]) == "SITEA"
        description = str(ev["DESCRIPTION"])
        assert f"Target date: {visit.target_date.isoformat()}" in description
        assert f"{visit.window_start.isoformat()} to {visit.window_end.isoformat()}" in description
        assert "Status: " in description
    body = app.test_client().get(path).get_data(as_text=True)
    assert b.participant_code not in body and "SITEB" not in body
    # the same UIDs on the next fetch: calendar apps update events instead of adding copies
    assert sorted(str(e["UID"]) for e in events(app, path)) == sorted(by_uid)


def test_cancelled_and_not_done_visits_are_left_out(app, client, session, two_sites, enrolled):
    visits = enrolled["a"].visits
    visits[1].cancelled_at = utcnow()
    visits[2].not_done_reason = "participant unwell"
    session.commit()
    login(client, "coord-a")
    uids = {str(e["UID"]) for e in events(app, create_feed(client)[1])}
    assert f"visit-{visits[0].id}@lupus-ecrf" in uids
    assert f"visit-{visits[1].id}@lupus-ecrf" not in uids
    assert f"visit-{visits[2].id}@lupus-ecrf" not in uids


def test_site_feed(app, client, session, two_sites, enrolled):
    login(client, "root-admin")
    _url, path = create_feed(client, two_sites["b"].id)
    found = events(app, path)
    assert found and {str(e["LOCATION"]) for e in found} == {"SITEB"}
    assert "SITEB" in str(Calendar.from_ical(app.test_client().get(path).data)["X-WR-CALNAME"])
    assert "Site SITEB" in client.get("/feeds/").get_data(as_text=True)


def test_no_site_feed_for_a_site_one_cannot_see(client, session, two_sites, enrolled):
    login(client, "coord-a")
    page = client.get("/feeds/").get_data(as_text=True)
    assert "SITEA" in page and "SITEB" not in page  # not offered
    resp = client.post("/feeds/new", data={"site": str(two_sites["b"].id)})
    assert resp.status_code == 400
    assert "Choose one of your sites." in resp.get_data(as_text=True)
    assert client.post("/feeds/new", data={"site": "99999"}).status_code == 400
    assert session.scalars(select(FeedToken)).all() == []


def test_deactivated_owners_feed_is_404(app, client, session, two_sites, enrolled):
    login(client, "coord-a")
    _url, path = create_feed(client)
    assert events(app, path)
    user = session.get(User, two_sites["coord_a"].id)
    accounts.set_active(session, user, False, actor=None, reason="left the study team")
    session.commit()
    assert app.test_client().get(path).status_code == 404


def test_feed_follows_the_owners_current_grants(app, client, session, two_sites, enrolled):
    login(client, "coord-a")
    _url, personal = create_feed(client)
    _url, site_feed = create_feed(client, two_sites["a"].id)
    assert events(app, site_feed)
    grant = session.scalar(select(RoleGrant).where(RoleGrant.user_id == two_sites["coord_a"].id))
    accounts.revoke_role(session, grant, actor=None)
    session.commit()
    assert app.test_client().get(site_feed).status_code == 404  # that site is out of reach
    assert events(app, personal) == []  # sees no site any more: nothing in the feed


def test_study_scoped_grant_limits_the_feed(app, client, session, two_sites, enrolled):
    from app.studies.models import Study

    other = factories.enrolled(session, two_sites["a"], "ALLOMSC-SLE", enrolled["start"],
                               two_sites["coord_a"], number="002")
    monitor = factories.user(session, "monitor-a")
    study = session.scalar(select(Study).where(Study.code == "ALLOMSC-SLE"))
    accounts.grant_role(session, monitor, Role.MONITOR, site=two_sites["a"], study=study,
                        actor=None)
    session.commit()
    login(client, "monitor-a")
    found = events(app, create_feed(client, two_sites["a"].id)[1])
    assert found
    assert {str(e["SUMMARY"]).split(":")[0] for e in found} == {other.participant_code}


def test_unknown_tokens_are_404(app, two_sites):
    anonymous = app.test_client()
    assert anonymous.get("/feeds/not-a-token.ics").status_code == 404
    assert anonymous.get("/feeds/" + "x" * 43 + ".ics").status_code == 404


def test_login_needed_for_the_page_but_not_for_the_feed(app, client, two_sites, enrolled):
    anonymous = app.test_client()
    resp = anonymous.get("/feeds/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert anonymous.post("/feeds/new", data={"site": ""}).status_code == 302
    login(client, "coord-a")
    _url, path = create_feed(client)
    assert events(app, path)  # a client that never signed in


def test_someone_elses_feed_cannot_be_touched(client, session, two_sites, enrolled):
    login(client, "coord-a")
    create_feed(client)
    (feed,) = session.scalars(select(FeedToken)).all()
    client.post("/logout")
    login(client, "coord-b")
    assert client.post(f"/feeds/{feed.id}/regenerate").status_code == 404
    assert client.post(f"/feeds/{feed.id}/revoke").status_code == 404
    assert "no calendar feed yet" in client.get("/feeds/").get_data(as_text=True)
    session.rollback()
    assert session.get(FeedToken, feed.id).revoked_at is None


def test_feed_query_count_is_constant(app, client, session, two_sites, enrolled):
    login(client, "coord-a")
    _url, path = create_feed(client)
    engine = app.extensions["db_engine"]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        few = len(events(app, path))
        selects_few = len(statements)
        for n in range(2, 6):
            factories.enrolled(session, two_sites["a"], "CS20AT04", enrolled["start"],
                               two_sites["coord_a"], number=f"00{n}", subgroup="LN")
        session.commit()
        statements.clear()
        many = len(events(app, path))
        selects_many = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert many == 5 * few
    assert selects_many == selects_few <= 4


def test_feed_tokens_are_audited(client, session, two_sites, enrolled):
    from app.audit.models import AuditEvent

    login(client, "coord-a")
    create_feed(client)
    (feed,) = session.scalars(select(FeedToken)).all()
    client.post(f"/feeds/{feed.id}/revoke")
    session.rollback()
    actions = session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "feed_tokens")).all()
    assert actions == ["feed_created", "feed_revoked"]
