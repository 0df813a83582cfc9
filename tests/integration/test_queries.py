"""Queries on the database: soft range checks open them through the CRF save, a correction
through the CRF answers them, each step is audited, and the counts take one statement each."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, select

from app.audit.models import AuditEvent
from app.audit.services import ConflictError
from app.crf import services as crf
from app.crf.models import CrfEntry
from app.domain.access import Role
from app.domain.queries import TransitionRefused
from app.locks import services as locks
from app.locks.models import Lock
from app.model_base import utcnow
from app.queries import services as queries
from app.queries.models import Query
from app.screening import services as screening
from app.studies.services import latest_version, protocol_of
from app.visits.models import Visit
from tests.support import factories

DAY0 = date(2026, 3, 2)


@pytest.fixture
def people(session, two_sites):
    monitor = factories.user(session, "mon-a", Role.MONITOR, two_sites["a"])
    session.commit()
    return {**two_sites, "monitor": monitor}


def _vs_entry(session, site, actor, number="SCR-1") -> CrfEntry:
    """An empty vital-signs CRF of a CS20AT04 participant's week-1 visit."""
    p = factories.enrolled(session, site, "CS20AT04", DAY0, actor, number)
    visit = session.scalar(select(Visit).where(Visit.participant_id == p.id,
                                               Visit.code == "INF1_W1"))
    entry = CrfEntry(site_id=site.id, participant_id=p.id, visit_id=visit.id, form_code="VS",
                     protocol_version_id=p.protocol_version_id)
    session.add(entry)
    session.flush()
    return entry


def _save(session, entry, values: dict, actor, reason=None):
    form = protocol_of(latest_version(session, _study_id(session, entry))).forms[entry.form_code]
    raw = {**entry.raw_values(), **values}
    return crf.save(session, entry, form, raw, actor=actor, reason=reason)


def _study_id(session, entry) -> int:
    return queries.study_of(session, entry)


def _queries(session, entry) -> list[Query]:
    session.flush()
    return queries.on_entry(session, entry.id)


def _events(session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_value_outside_its_soft_range_opens_an_automatic_query(session, people):
    entry = _vs_entry(session, people["a"], people["coord_a"])
    _save(session, entry, {"SYSBP": {"value": "230", "unit": "mmHg"},
                           "PULSE": {"value": "70", "unit": "bpm"}}, people["coord_a"])
    (query,) = _queries(session, entry)
    assert (query.item_code, query.status, query.automatic) == ("SYSBP", "open", True)
    assert query.opened_by_id is None and query.participant_id == entry.participant_id
    (message,) = query.messages
    assert message.author_id is None and message.action == "auto"
    assert message.text == ("Systolic blood pressure: 230 mmHg is outside the expected range "
                            "80–200 mmHg. Please confirm the value or correct it.")
    (audited,) = _events(session, "query_auto")
    assert audited.entity_type == "queries" and audited.entity_id == query.id
    assert audited.site_id == people["a"].id and "SYSBP" in audited.new_value
    session.commit()  # data and audit rows land together


def test_one_query_per_item_while_it_is_not_closed(session, people):
    entry = _vs_entry(session, people["a"], people["coord_a"])
    _save(session, entry, {"TEMP": {"value": "40", "unit": "degC"}}, people["coord_a"])
    _save(session, entry, {"PULSE": {"value": "40", "unit": "bpm"}}, people["coord_a"])
    assert [q.item_code for q in _queries(session, entry)] == ["TEMP", "PULSE"]
    # unchanged TEMP: no second query; its open query is answered by the next change only
    _save(session, entry, {"TEMP": {"value": "39.8", "unit": "degC"}}, people["coord_a"],
          reason="re-measured, still febrile")
    temp = [q for q in _queries(session, entry) if q.item_code == "TEMP"]
    assert len(temp) == 1 and temp[0].status == "answered"


def test_values_inside_their_range_or_in_another_unit(session, people):
    entry = _vs_entry(session, people["a"], people["coord_a"])
    _save(session, entry, {"SYSBP": {"value": "120", "unit": "mmHg"},
                           "WEIGHT": {"value": "480", "unit": "lb"}}, people["coord_a"])
    (query,) = _queries(session, entry)
    assert query.item_code == "WEIGHT"
    assert "480 lb (= 217.724 kg) is outside the expected range 30–200 kg" in \
        query.messages[0].text


def test_a_correction_through_the_crf_answers_the_open_query(session, people):
    entry = _vs_entry(session, people["a"], people["coord_a"])
    _save(session, entry, {"PULSE": {"value": "70", "unit": "bpm"}}, people["coord_a"])
    query = queries.raise_query(session, entry, "PULSE", "70 bpm? The source says 77.",
                                actor=people["monitor"])
    _save(session, entry, {"PULSE": {"value": "77", "unit": "bpm"}}, people["coord_a"],
          reason="transcription error")
    session.refresh(query)
    assert query.status == "answered"
    assert [m.action for m in query.messages] == ["raise", "correct"]
    correct = query.messages[-1]
    assert correct.author_id == people["coord_a"].id
    assert correct.text == "Corrected PULSE: 70 bpm → 77 bpm. Reason: transcription error"
    (raised,) = _events(session, "query_raise")
    (answered,) = _events(session, "query_answer")
    assert raised.actor_id == people["monitor"].id and answered.actor_id == people["coord_a"].id
    assert "transcription error" in answered.new_value


def test_a_closed_query_is_left_alone_and_a_new_range_query_opens(session, people):
    entry = _vs_entry(session, people["a"], people["coord_a"])
    _save(session, entry, {"SYSBP": {"value": "230", "unit": "mmHg"}}, people["coord_a"])
    (first,) = _queries(session, entry)
    queries.close(session, first, "Confirmed with the source.", actor=people["monitor"])
    _save(session, entry, {"SYSBP": {"value": "235", "unit": "mmHg"}}, people["coord_a"],
          reason="second reading")
    session.refresh(first)
    assert first.status == "closed" and [m.action for m in first.messages] == ["auto", "close"]
    second = _queries(session, entry)[-1]
    assert second.id != first.id and second.status == "open" and second.automatic


def test_workflow_steps_messages_and_audit(session, people):
    entry = _vs_entry(session, people["a"], people["coord_a"])
    _save(session, entry, {"PULSE": {"value": "70", "unit": "bpm"}}, people["coord_a"])
    query = queries.raise_query(session, entry, "PULSE", "Please confirm.",
                                actor=people["monitor"])
    queries.answer(session, query, "Confirmed in the source.", actor=people["coord_a"])
    queries.close(session, query, "", actor=people["monitor"])
    assert query.closed_at is not None
    queries.reopen(session, query, "Which source?", actor=people["monitor"])
    assert (query.status, query.closed_at) == ("open", None)
    assert [(m.action, m.text) for m in query.messages][1:] == [
        ("answer", "Confirmed in the source."), ("close", "Closed."),
        ("reopen", "Which source?")]
    for action in ("query_raise", "query_answer", "query_close", "query_reopen"):
        assert len(_events(session, action)) == 1, action
    with pytest.raises(TransitionRefused):
        queries.reopen(session, query, "again", actor=people["monitor"])


def test_a_stale_version_is_a_conflict(session, people):
    entry = _vs_entry(session, people["a"], people["coord_a"])
    query = queries.raise_query(session, entry, "PULSE", "Missing?", actor=people["monitor"])
    seen = query.version
    queries.answer(session, query, "Not measured.", actor=people["coord_a"],
                   expected_version=seen)
    with pytest.raises(ConflictError):
        queries.close(session, query, None, actor=people["monitor"], expected_version=seen)
    assert query.status == "answered"


def test_locked_data_refuses_raising_and_answering(session, people, monkeypatch):
    entry = _vs_entry(session, people["a"], people["coord_a"])
    query = queries.raise_query(session, entry, "PULSE", "Missing?", actor=people["monitor"])
    lock = Lock(scope="crf", target_id=entry.id, study_id=query.study_id, site_id=entry.site_id,
                locked_at=utcnow(), locked_by_id=people["admin"].id)
    monkeypatch.setattr(locks, "lock_over", lambda _session, _entry: lock)
    with pytest.raises(locks.Locked):
        queries.raise_query(session, entry, "TEMP", "And this?", actor=people["monitor"])
    with pytest.raises(locks.Locked):
        queries.answer(session, query, "Not measured.", actor=people["coord_a"])
    assert query.status == "open"
    queries.close(session, query, "Accepted as missing.", actor=people["monitor"])
    assert query.status == "closed"  # closing changes no data: allowed under a lock


def test_a_screening_crf_query_has_no_participant(session, people):
    version = latest_version(session, queries.study_of(
        session, _vs_entry(session, people["a"], people["coord_a"])))
    record = screening.start(session, version, people["a"], "SCR-9", actor=people["coord_a"])
    screening.save_screening_values(session, record, {"WEIGHT": {"value": "25", "unit": "kg"}},
                                    actor=people["coord_a"], reason=None,
                                    expected_version=record.entry.version)
    (query,) = _queries(session, record.entry)
    assert query.item_code == "WEIGHT" and query.participant_id is None
    assert queries.open_per_participant(session) == {}


def _count_statements(session):
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):  # not BEGIN
            seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    return seen, lambda: event.remove(engine, "before_cursor_execute", count)


def test_counts_per_site_and_participant_in_one_statement_each(session, people):
    a1 = _vs_entry(session, people["a"], people["coord_a"], "SCR-1")
    a2 = _vs_entry(session, people["a"], people["coord_a"], "SCR-2")
    b1 = _vs_entry(session, people["b"], people["coord_b"], "SCR-1")
    for entry in (a1, a1, a2, b1):
        queries.raise_query(session, entry, "PULSE", "?", actor=people["admin"])
    answered, closed = _queries(session, a1)
    queries.answer(session, answered, "ok", actor=people["coord_a"])
    queries.close(session, closed, None, actor=people["admin"])
    session.commit()
    seen, stop = _count_statements(session)
    try:
        per_site = queries.open_per_site(session)
        per_participant = queries.open_per_participant(session)
        only_a = queries.open_per_site(session, Query.site_id == people["a"].id)
    finally:
        stop()
    assert len(seen) == 3
    assert per_site == {people["a"].id: 2, people["b"].id: 1}  # answered counts, closed not
    assert per_participant == {a1.participant_id: 1, a2.participant_id: 1,
                               b1.participant_id: 1}
    assert only_a == {people["a"].id: 2}
