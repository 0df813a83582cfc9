"""The participant list: a page of 50 at a time, newest enrolment first, an ID search, only
the user's sites, and the same number of SQL statements whatever the number of participants."""

from datetime import date, timedelta

from sqlalchemy import select

from app.participants.listing import PAGE_SIZE
from app.studies.models import ProtocolVersion
from tests.conftest import login
from tests.functional.test_calendar import _statements
from tests.support import bulk, factories

START = date.today() - timedelta(days=40)


def _many(session, two_sites, count: int) -> ProtocolVersion:
    """One real participant at each site, then `count` more at SITEA in bulk."""
    factories.enrolled(session, two_sites["a"], "CS20AT04", START, two_sites["coord_a"])
    factories.enrolled(session, two_sites["b"], "CS20AT04", START, two_sites["coord_b"],
                       number="SCR-9")
    session.commit()
    version = session.scalar(select(ProtocolVersion))
    bulk.add_participants(session, version, two_sites["a"].id, two_sites["coord_a"].id, count,
                          START)
    session.commit()
    return version


def _codes(html: str) -> list[str]:
    return [line.split(">")[1].split("<")[0] for line in html.split("<tr><td><a href=")[1:]]


def test_pages_of_fifty_newest_first(client, session, two_sites):
    _many(session, two_sites, PAGE_SIZE + 10)
    login(client, "coord-a")
    first = client.get("/participants/").get_data(as_text=True)
    assert len(_codes(first)) == PAGE_SIZE and "of 61" in first and "Older →" in first
    second = client.get("/participants/?page=2").get_data(as_text=True)
    assert len(_codes(second)) == 11 and "← Newer" in second
    assert not set(_codes(first)) & set(_codes(second))
    assert "SITEA-SCR-1" in _codes(second)  # enrolled first: on the last page
    assert client.get("/participants/?page=3").status_code == 404
    assert client.get("/participants/?page=0").status_code == 404
    assert client.get("/participants/?page=99999999999").status_code == 404


def test_only_my_sites_are_listed_and_counted(client, session, two_sites):
    _many(session, two_sites, 3)
    login(client, "coord-b")
    page = client.get("/participants/").get_data(as_text=True)
    assert _codes(page) == ["SITEB-SCR-9"] and "1–1 of 1" in page


def test_search_by_participant_id(client, session, two_sites):
    _many(session, two_sites, 30)
    login(client, "coord-a")
    page = client.get("/participants/?q=bulk-00001").get_data(as_text=True)
    assert sorted(_codes(page)) == [f"BULK-0000{n}" for n in range(10, 20)]
    assert client.get("/participants/?q=SITEB").get_data(as_text=True).count("Nobody") == 1
    assert "Nobody matches" in client.get("/participants/?q=%25_").get_data(as_text=True)


def test_statements_do_not_grow_with_participants(app, client, session, two_sites):
    _many(session, two_sites, 0)
    login(client, "coord-a")
    small = _statements(app, client, "/participants/")
    version = session.scalar(select(ProtocolVersion))
    bulk.add_participants(session, version, two_sites["a"].id, two_sites["coord_a"].id, 500,
                          START)
    session.commit()
    assert _statements(app, client, "/participants/?page=3") == small
