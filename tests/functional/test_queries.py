"""Queries through HTTP: a monitor raises one from the CRF page, the coordinator answers, the
monitor closes and reopens; who may do what; another site's query is a 404 everywhere; the
list's filters are allow-listed; the counts on the dashboard and participant pages."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.crf.models import CrfEntry
from app.domain.access import Role
from app.queries.models import Query
from app.visits.models import Visit
from tests.conftest import login
from tests.support import factories

DAY0 = date(2026, 3, 2)
PULSE_70 = {"PULSE-value": "70", "PULSE-unit": "bpm", "entry_version": "0"}


@pytest.fixture
def trial(session, two_sites):
    """A participant at each site, and a monitor for site A only."""
    a = factories.enrolled(session, two_sites["a"], "CS20AT04", DAY0, two_sites["coord_a"])
    b = factories.enrolled(session, two_sites["b"], "CS20AT04", DAY0, two_sites["coord_b"])
    factories.user(session, "mon-a", Role.MONITOR, two_sites["a"])
    session.commit()
    return {**two_sites, "pa": a, "pb": b}


def _vs_url(session, participant) -> str:
    visit = session.scalar(select(Visit).where(Visit.participant_id == participant.id,
                                               Visit.code == "INF1_W1"))
    return f"/visits/{visit.id}/forms/VS"


def _saved_vs(client, session, participant, coordinator: str, data=PULSE_70) -> CrfEntry:
    """The coordinator saves the week-1 vital signs; returns the CRF entry."""
    login(client, coordinator)
    assert client.post(_vs_url(session, participant), data=data).status_code == 302
    client.post("/logout")
    session.rollback()
    return session.scalar(select(CrfEntry).where(CrfEntry.participant_id == participant.id))


def _query(session, query_id: int) -> Query:
    _fresh(session)
    return session.get(Query, query_id)


def _fresh(session):
    """What requests committed since this session last read."""
    session.rollback()
    session.expire_all()
    return session


def _version(page: str, step: str) -> str:
    return re.search(rf'name="{step}-version" type="hidden" value="(\d+)"', page).group(1)


def test_monitor_raises_coordinator_answers_monitor_closes_and_reopens(client, session, trial):
    entry = _saved_vs(client, session, trial["pa"], "coord-a")
    crf_url = _vs_url(session, trial["pa"])
    monitor, coordinator = client, client.application.test_client()
    login(monitor, "mon-a")
    page = monitor.get(crf_url).get_data(as_text=True)
    raise_url = f"/queries/new/{entry.id}/PULSE"
    assert f'href="{raise_url}"' in page and "Raise query" in page
    form_page = monitor.get(raise_url).get_data(as_text=True)
    assert "Pulse rate" in form_page and "70 bpm" in form_page
    resp = monitor.post(raise_url, data={"text": "The source says 77 bpm."})
    assert resp.status_code == 302 and resp.headers["Location"] == f"{crf_url}#item-PULSE"
    (query,) = _fresh(session).scalars(select(Query)).all()
    assert (query.status, query.automatic, query.item_code) == ("open", False, "PULSE")
    page = monitor.get(crf_url).get_data(as_text=True)
    assert f"Query #{query.id}" in page and "Queries on this form" in page

    login(coordinator, "coord-a")
    assert f"/queries/{query.id}" in coordinator.get("/queries/").get_data(as_text=True)
    page = coordinator.get(f"/queries/{query.id}").get_data(as_text=True)
    assert "Send answer" in page and "Close query" not in page
    assert f'href="{crf_url}#item-PULSE"' in page  # correcting happens on the CRF
    resp = coordinator.post(f"/queries/{query.id}/answer", data={
        "answer-text": "Re-checked: 70 is right, 77 was the next day.",
        "answer-version": _version(page, "answer")})
    assert resp.status_code == 302
    assert _query(session, query.id).status == "answered"
    assert coordinator.post(f"/queries/{query.id}/close", data={}).status_code == 403
    assert coordinator.post(f"/queries/{query.id}/reopen", data={}).status_code == 403

    page = monitor.get(f"/queries/{query.id}").get_data(as_text=True)
    assert "Re-checked: 70 is right" in page and "Send answer" not in page
    assert monitor.post(f"/queries/{query.id}/close", data={
        "close-text": "", "close-version": _version(page, "close")}).status_code == 302
    assert _query(session, query.id).status == "closed"
    page = monitor.get(f"/queries/{query.id}").get_data(as_text=True)
    assert monitor.post(f"/queries/{query.id}/reopen", data={
        "reopen-text": "Please attach the source page.",
        "reopen-version": _version(page, "reopen")}).status_code == 302
    query = _query(session, query.id)
    assert query.status == "open" and query.closed_at is None
    assert [m.action for m in query.messages] == ["raise", "answer", "close", "reopen"]
    actions = _fresh(session).scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "queries").order_by(AuditEvent.id)).all()
    assert actions == ["query_raise", "query_answer", "query_close", "query_reopen"]


def test_a_correction_on_the_crf_answers_the_query(client, session, trial):
    entry = _saved_vs(client, session, trial["pa"], "coord-a")
    login(client, "mon-a")
    client.post(f"/queries/new/{entry.id}/PULSE", data={"text": "77?"})
    client.post("/logout")
    login(client, "coord-a")
    url = _vs_url(session, trial["pa"])
    version = re.search(r'name="entry_version" type="hidden" value="(\d+)"',
                        client.get(url).get_data(as_text=True)).group(1)
    resp = client.post(url, data={"PULSE-value": "77", "PULSE-unit": "bpm",
                                  "entry_version": version, "change_reason": "typo"})
    assert resp.status_code == 302
    query = _query(session, _fresh(session).scalar(select(Query.id)))
    assert query.status == "answered"
    assert query.messages[-1].text == "Corrected PULSE: 70 bpm → 77 bpm. Reason: typo"


def test_a_soft_range_failure_shows_on_the_crf_page(client, session, trial):
    _saved_vs(client, session, trial["pa"], "coord-a",
              {**PULSE_70, "SYSBP-value": "230", "SYSBP-unit": "mmHg"})
    login(client, "coord-a")
    page = client.get(_vs_url(session, trial["pa"])).get_data(as_text=True)
    item = page.split('id="item-SYSBP"')[1].split('id="item-DIABP"')[0]
    assert "has-query" in page.split('id="item-SYSBP"')[0].rsplit("<div", 1)[1]
    assert "Query #" in item and "open" in item
    assert "Raise query" not in page  # coordinators do not raise queries
    assert "(range check)" in page


def test_bad_input_is_refused_with_a_message_and_kept(client, session, trial):
    entry = _saved_vs(client, session, trial["pa"], "coord-a")
    login(client, "mon-a")
    resp = client.post(f"/queries/new/{entry.id}/PULSE", data={"text": "   "})
    assert resp.status_code == 400 and "Write the question for the site." in \
        resp.get_data(as_text=True)
    long_text = "why " * 600
    resp = client.post(f"/queries/new/{entry.id}/PULSE", data={"text": long_text})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and long_text.strip() in page  # typed input kept
    assert _fresh(session).scalars(select(Query)).all() == []
    client.post(f"/queries/new/{entry.id}/PULSE", data={"text": "Source?"})
    query_id = _fresh(session).scalar(select(Query.id))
    client.post("/logout")
    login(client, "coord-a")
    resp = client.post(f"/queries/{query_id}/answer", data={"answer-text": ""})
    assert resp.status_code == 400 and "Write the answer." in resp.get_data(as_text=True)


def test_a_stale_page_gets_a_conflict_and_loses_nothing(client, session, trial):
    entry = _saved_vs(client, session, trial["pa"], "coord-a")
    login(client, "mon-a")
    client.post(f"/queries/new/{entry.id}/PULSE", data={"text": "Source?"})
    query_id = _fresh(session).scalar(select(Query.id))
    page = client.get(f"/queries/{query_id}").get_data(as_text=True)
    stale = _version(page, "close")
    assert client.post(f"/queries/{query_id}/close", data={
        "close-version": stale}).status_code == 302
    resp = client.post(f"/queries/{query_id}/reopen", data={
        "reopen-text": "Still unclear", "reopen-version": stale})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "Someone else acted on this query" in page
    assert "Still unclear" in page
    assert _query(session, query_id).status == "closed"


def test_a_query_on_a_screening_crf_leads_back_to_the_screening(client, session, trial):
    from app.screening import services as screening
    from app.studies.services import latest_version

    version = latest_version(session, trial["pa"].study_id)
    record = screening.start(session, version, trial["a"], "SCR-9", actor=trial["coord_a"])
    session.commit()
    login(client, "mon-a")
    url = f"/queries/new/{record.entry.id}/WEIGHT"
    assert "Screening SCR-9" in client.get(url).get_data(as_text=True)
    resp = client.post(url, data={"text": "Weight missing: needed for the dose."})
    assert resp.headers["Location"] == f"/screening/{record.id}#item-WEIGHT"
    query = _query(session, _fresh(session).scalar(select(Query.id)))
    assert query.participant_id is None and query.site_id == trial["a"].id


def test_unknown_item_is_404_and_coordinators_cannot_raise(client, session, trial):
    entry = _saved_vs(client, session, trial["pa"], "coord-a")
    login(client, "mon-a")
    assert client.get(f"/queries/new/{entry.id}/NOSUCH").status_code == 404
    assert client.get(f"/queries/new/{entry.id + 999}/PULSE").status_code == 404
    client.post("/logout")
    login(client, "coord-a")
    assert client.get(f"/queries/new/{entry.id}/PULSE").status_code == 403


def test_another_sites_query_is_404_and_left_out(client, session, trial):
    entry_b = _saved_vs(client, session, trial["pb"], "coord-b")
    login(client, "root-admin")
    client.post(f"/queries/new/{entry_b.id}/PULSE", data={"text": "Site B question"})
    client.post("/logout")
    query_id = _fresh(session).scalar(select(Query.id))
    for user in ("coord-a", "mon-a"):
        login(client, user)
        assert client.get(f"/queries/{query_id}").status_code == 404
        assert "Site B question" not in client.get("/queries/?status=all").get_data(
            as_text=True)
        assert client.get(f"/queries/?participant={trial['pb'].id}").status_code == 404
        client.post("/logout")
    login(client, "coord-a")
    assert client.post(f"/queries/{query_id}/answer",
                       data={"answer-text": "mine?"}).status_code == 404
    client.post("/logout")
    login(client, "mon-a")
    assert client.post(f"/queries/{query_id}/close", data={}).status_code == 404
    assert client.get(f"/queries/new/{entry_b.id}/PULSE").status_code == 404
    assert client.post(f"/queries/new/{entry_b.id}/PULSE",
                       data={"text": "x"}).status_code == 404
    assert _query(session, query_id).status == "open"


@pytest.mark.parametrize("args", ["status=pending", "site=NOWHERE", "study=NOSUCH",
                                  "participant=abc", "participant=999999"])
def test_list_filters_are_allow_listed(client, trial, args):
    login(client, "coord-a")
    assert client.get(f"/queries/?{args}").status_code == 404


def test_list_filters_narrow_by_status_site_and_participant(client, session, trial):
    entry_a = _saved_vs(client, session, trial["pa"], "coord-a")
    entry_b = _saved_vs(client, session, trial["pb"], "coord-b")
    login(client, "root-admin")
    for entry, text in ((entry_a, "Question A1"), (entry_a, "Question A2"),
                        (entry_b, "Question B1")):
        client.post(f"/queries/new/{entry.id}/PULSE", data={"text": text})
    first = _fresh(session).scalar(select(Query.id).order_by(Query.id))
    page = client.get(f"/queries/{first}").get_data(as_text=True)
    client.post(f"/queries/{first}/close", data={"close-version": _version(page, "close")})

    def listed(args: str) -> set[str]:
        page = client.get(f"/queries/?{args}").get_data(as_text=True)
        return {t for t in ("Question A1", "Question A2", "Question B1") if t in page}

    assert listed("") == {"Question A2", "Question B1"}  # closed ones are not listed by default
    assert listed("status=all") == {"Question A1", "Question A2", "Question B1"}
    assert listed("status=closed") == {"Question A1"}
    assert listed("site=SITEB") == {"Question B1"}
    assert listed("study=CS20AT04&status=open") == {"Question A2", "Question B1"}
    assert listed(f"participant={trial['pa'].id}&status=all") == {"Question A1", "Question A2"}


def test_open_query_counts_on_dashboard_and_participant_pages(client, session, trial):
    entry_a = _saved_vs(client, session, trial["pa"], "coord-a",
                        {**PULSE_70, "TEMP-value": "40", "TEMP-unit": "degC"})  # automatic
    entry_b = _saved_vs(client, session, trial["pb"], "coord-b")
    login(client, "root-admin")
    client.post(f"/queries/new/{entry_a.id}/PULSE", data={"text": "?"})
    client.post(f"/queries/new/{entry_b.id}/PULSE", data={"text": "?"})
    html = client.get("/dashboard/CS20AT04").get_data(as_text=True)
    rows = _visits_table(html)
    assert rows["SITEA"][6] == "2" and rows["SITEB"][6] == "1" and rows["All sites"][6] == "3"
    client.post("/logout")

    login(client, "coord-a")
    rows = _visits_table(client.get("/dashboard/CS20AT04").get_data(as_text=True))
    assert list(rows) == ["SITEA"] and rows["SITEA"][6] == "2"
    page = client.get(f"/participants/{trial['pa'].id}").get_data(as_text=True)
    assert "2 open queries" in page
    page = client.get("/participants/").get_data(as_text=True)
    assert f'href="/queries/?participant={trial["pa"].id}">2</a>' in page
    assert trial["pb"].participant_code not in page


def _visits_table(html: str) -> dict[str, list[str]]:
    from tests.functional.test_dashboard import by_first_cell, tables

    return by_first_cell(tables(html)["Visit compliance, open queries and CRFs still to enter, "
                                      "per site"][1:])
