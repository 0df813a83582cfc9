"""Calendars, worklist and missed list: scoped, filtered (allow-listed), and one query for the
visits whatever their number."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, insert, select

from app.participants.models import Participant
from app.screening.models import Screening
from app.studies.models import Study
from app.visits.models import Visit
from tests.conftest import login
from tests.support import factories


def _participant(session, two_sites, site="a", start=None, number="SCR-1"):
    start = start or date.today() - timedelta(days=2)
    p = factories.enrolled(session, two_sites[site], "CS20AT04", start,
                           two_sites[f"coord_{site}"], number=number)
    session.commit()
    return p


def test_month_week_agenda_show_own_sites_only(client, session, two_sites):
    mine = _participant(session, two_sites, "a")
    theirs = _participant(session, two_sites, "b", number="SCR-9")
    login(client, "coord-a")
    for url in ("/calendar/", "/calendar/week", "/calendar/agenda"):
        page = client.get(url).get_data(as_text=True)
        assert mine.participant_code in page, url
        assert theirs.participant_code not in page, url
    month = client.get("/calendar/").get_data(as_text=True)
    assert "◆" in month  # the infusion is marked
    assert "window" in month


def test_worklist_and_missed(client, session, two_sites):
    p = _participant(session, two_sites, start=date.today() - timedelta(days=3))
    login(client, "coord-a")
    worklist = client.get("/calendar/worklist").get_data(as_text=True)
    assert "Day 3 after infusion 1" in worklist  # target today (window ±1): due
    missed = client.get("/calendar/missed").get_data(as_text=True)
    assert "Infusion 1 (day 0)" in missed and p.participant_code in missed


def test_filters_are_allow_listed(client, session, two_sites):
    _participant(session, two_sites)
    login(client, "coord-a")
    assert client.get("/calendar/?status=due").status_code == 200
    assert client.get("/calendar/?site=SITEA&study=CS20AT04").status_code == 200
    assert client.get("/calendar/?site=SITEB").status_code == 404  # not one of mine
    assert client.get("/calendar/?status=1;drop").status_code == 404
    assert client.get("/calendar/?study=NOPE").status_code == 404
    assert client.get("/calendar/week?date=not-a-date").status_code == 404
    due_only = client.get("/calendar/agenda?status=due").get_data(as_text=True)
    assert "scheduled</span>" not in due_only


def _bulk_participants(session, two_sites, count: int, start: date) -> None:
    """`count` participants of SITEA, each with 3 visits this month, inserted in bulk."""
    study = session.scalar(select(Study).where(Study.code == "CS20AT04"))
    template = session.scalar(select(Participant))
    now = datetime.now(UTC)
    actor = two_sites["coord_a"].id
    screenings = session.execute(insert(Screening).returning(Screening.id), [
        {"site_id": two_sites["a"].id, "study_id": study.id,
         "protocol_version_id": template.protocol_version_id, "screening_number": f"B{n}",
         "status": "enrolled", "started_at": now, "started_by_id": actor, "version": 1}
        for n in range(count)]).scalars().all()
    participants = session.execute(insert(Participant).returning(Participant.id), [
        {"site_id": two_sites["a"].id, "study_id": study.id,
         "protocol_version_id": template.protocol_version_id, "screening_id": sid,
         "participant_code": f"SITEA-B{n:04d}", "enrolled_at": now, "enrolled_by_id": actor,
         "start_date": start, "version": 1} for n, sid in enumerate(screenings)]).scalars().all()
    session.execute(insert(Visit), [
        {"participant_id": pid, "site_id": two_sites["a"].id, "code": f"V{k}", "name": f"V{k}",
         "anchor": "INF1", "target_date": start + timedelta(days=7 * k),
         "window_start": start + timedelta(days=7 * k - 1),
         "window_end": start + timedelta(days=7 * k + 1), "window_ours": False,
         "unscheduled": False, "status": "scheduled", "created_at": now, "version": 1}
        for pid in participants for k in range(3)])
    session.commit()


def _statements(app, client, url: str) -> int:
    engine = app.extensions["db_engine"]
    count = 0

    def counter(*_args):
        nonlocal count
        count += 1

    event.listen(engine, "before_cursor_execute", counter)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    return count


@pytest.mark.parametrize("url", ["/calendar/", "/calendar/week", "/calendar/agenda",
                                 "/calendar/worklist"])
def test_statements_per_page_do_not_grow_with_visits(app, client, session, two_sites, url):
    start = date.today().replace(day=1) + timedelta(days=1)
    _participant(session, two_sites)
    login(client, "coord-a")
    small = _statements(app, client, url)
    _bulk_participants(session, two_sites, 2000, start)
    large = _statements(app, client, url)
    assert large == small, (small, large)
