"""Locks in the database: each scope makes its data read-only (CRF saves, visit dates,
withdrawal, screening, enrolment), unlocking restores it, and both are audited."""

from datetime import date

import pytest
from sqlalchemy import event, select

from app.audit.models import AuditEvent
from app.auth.services import find_user
from app.crf import services as crf_services
from app.crf.models import CrfEntry
from app.domain.access import Role
from app.locks import services as locks
from app.locks.models import Lock
from app.screening import services as screening
from app.studies.services import latest_version
from app.visits import services as visits
from app.visits.models import Visit
from tests.support import factories

DAY0 = date(2026, 3, 2)
TODAY = date(2026, 6, 1)


@pytest.fixture
def world(session, two_sites):
    dm = factories.user(session, "dm", Role.DATA_MANAGER)
    coord = two_sites["coord_a"]
    p = factories.enrolled(session, two_sites["a"], "CS20AT04", DAY0, coord)
    other = factories.enrolled(session, two_sites["b"], "CS20AT04", DAY0, two_sites["coord_b"],
                               number="SCR-B")
    session.commit()
    entry = _save(session, _visit(session, p, "INF1_W1"), "70", coord)
    return {"dm": dm, "coord": coord, "p": p, "other": other, "entry": entry,
            "study": p.study}


def _visit(session, participant, code) -> Visit:
    return session.scalar(select(Visit).where(Visit.participant_id == participant.id,
                                              Visit.code == code))


def _save(session, visit, pulse, actor, reason="re-measured") -> CrfEntry:
    definition = visits.protocol_of(visit.participant.protocol_version).forms["VS"]
    entry = session.scalar(select(CrfEntry).where(CrfEntry.visit_id == visit.id,
                                                  CrfEntry.form_code == "VS"))
    if entry is None:
        entry = CrfEntry(site_id=visit.site_id, participant_id=visit.participant_id,
                         visit_id=visit.id, form_code="VS",
                         protocol_version_id=visit.participant.protocol_version_id)
        session.add(entry)
        session.flush()
    crf_services.save(session, entry, definition, {"PULSE": {"value": pulse, "unit": "bpm"}},
                      actor=actor, reason=reason)
    session.commit()
    return entry


def _target(world, scope):
    return {"crf": world["entry"], "participant": world["p"], "study": world["study"]}[scope]


def _pulse(session, entry) -> str:
    session.expire_all()
    return next(v.value for v in session.get(CrfEntry, entry.id).values
                if v.item_code == "PULSE")


@pytest.mark.parametrize("scope", ["crf", "participant", "study"])
def test_each_scope_refuses_a_crf_save_and_unlocking_restores_it(session, world, scope):
    lock = locks.lock(session, scope, _target(world, scope), world["dm"], "interim analysis")
    session.commit()
    w1 = _visit(session, world["p"], "INF1_W1")
    with pytest.raises(locks.Locked) as refused:
        _save(session, w1, "99", world["coord"])
    session.rollback()
    assert refused.value.lock.id == lock.id
    assert _pulse(session, world["entry"]) == "70"  # nothing saved
    locks.unlock(session, lock, world["dm"], "query answered")
    session.commit()
    _save(session, _visit(session, world["p"], "INF1_W1"), "99", world["coord"])
    assert _pulse(session, world["entry"]) == "99"


@pytest.mark.parametrize("scope", ["participant", "study"])
def test_participant_and_study_locks_refuse_visit_dates_not_done_and_withdrawal(
        session, world, scope):
    locks.lock(session, scope, _target(world, scope), world["dm"])
    session.commit()
    p, coord = world["p"], world["coord"]
    attempts = [
        lambda: visits.record_date(session, _visit(session, p, "INF1"), DAY0, actor=coord),
        lambda: visits.mark_not_done(session, _visit(session, p, "INF1_W4"), "ill",
                                     actor=coord),
        lambda: visits.add_unscheduled(session, p, DAY0, "flare", actor=coord),
        lambda: visits.withdraw(session, p, "consent withdrawn", actor=coord, today=TODAY),
    ]
    for attempt in attempts:
        with pytest.raises(locks.Locked):
            attempt()
        session.rollback()
    session.expire_all()
    assert _visit(session, p, "INF1").actual_date is None
    assert p.withdrawn_at is None and _visit(session, p, "UNS1") is None


def test_a_crf_lock_covers_that_crf_only(session, world):
    locks.lock(session, "crf", world["entry"], world["dm"])
    session.commit()
    p, coord = world["p"], world["coord"]
    visits.record_date(session, _visit(session, p, "INF1"), DAY0, actor=coord)
    _save(session, _visit(session, p, "INF1_W4"), "80", coord)  # another CRF of the same one
    session.commit()
    assert _visit(session, p, "INF1").actual_date == DAY0


def test_a_participant_lock_leaves_other_participants_alone(session, world):
    locks.lock(session, "participant", world["p"], world["dm"])
    session.commit()
    other = world["other"]
    visits.record_date(session, _visit(session, other, "INF1"), DAY0,
                       actor=find_user(session, "coord-b"))
    session.commit()


def test_a_study_lock_covers_every_site(session, world):
    locks.lock(session, "study", world["study"], world["dm"], "database lock")
    session.commit()
    other = world["other"]
    with pytest.raises(locks.Locked):
        visits.record_date(session, _visit(session, other, "INF1"), DAY0,
                           actor=find_user(session, "coord-b"))


def test_a_locked_study_takes_no_screening_data_and_no_enrolment(session, world, two_sites):
    coord, study = world["coord"], world["study"]
    version = latest_version(session, study.id)
    candidate = screening.start(session, version, two_sites["a"], "SCR-9", actor=coord)
    session.commit()
    locks.lock(session, "study", study, world["dm"])
    session.commit()
    with pytest.raises(locks.Locked):
        screening.save_screening_values(session, candidate, {}, actor=coord,
                                        reason=None, expected_version=None)
    session.rollback()
    with pytest.raises(locks.Locked):
        screening.enroll(session, candidate, actor=coord)
    session.rollback()
    with pytest.raises(locks.Locked):
        screening.start(session, version, two_sites["a"], "SCR-10", actor=coord)
    session.rollback()
    # a screening CRF has no participant: only its own lock and its study's cover it
    assert candidate.entry.participant_id is None
    assert locks.lock_over(session, candidate.entry).scope == "study"


def test_lock_and_unlock_are_audited_with_their_reasons(session, world):
    lock = locks.lock(session, "participant", world["p"], world["dm"], "  interim analysis ")
    session.commit()
    locks.unlock(session, lock, world["dm"], "late lab result")
    session.commit()
    rows = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "locks")
                           .order_by(AuditEvent.id)).all()
    assert [(r.action, r.reason, r.actor_id, r.entity_id) for r in rows] == [
        ("lock", "interim analysis", world["dm"].id, lock.id),
        ("unlock", "late lab result", world["dm"].id, lock.id)]
    code = world["p"].participant_code
    assert rows[0].new_value == f"participant {code}" and rows[0].site_id == world["p"].site_id
    session.refresh(lock)
    assert lock.unlocked_by_id == world["dm"].id and lock.unlock_reason == "late lab result"


def test_locking_twice_and_unlocking_without_reason_are_refused(session, world):
    lock = locks.lock(session, "crf", world["entry"], world["dm"])
    session.commit()
    with pytest.raises(locks.LockError, match="Already locked by Dm"):
        locks.lock(session, "crf", world["entry"], world["dm"])
    session.rollback()
    with pytest.raises(locks.LockError, match="reason for unlocking"):
        locks.unlock(session, lock, world["dm"], "   ")
    session.rollback()
    locks.unlock(session, lock, world["dm"], "done")
    session.commit()
    with pytest.raises(locks.LockError, match="lifted already"):
        locks.unlock(session, lock, world["dm"], "again")
    session.rollback()
    assert len(session.scalars(select(Lock)).all()) == 1
    locks.lock(session, "crf", world["entry"], world["dm"])  # lockable again once lifted
    session.commit()


def test_a_study_lock_has_no_site_and_a_scope_must_match_its_target(session, world):
    lock = locks.lock(session, "study", world["study"], world["dm"])
    assert (lock.site_id, lock.study_id, lock.target_id) == (None, world["study"].id,
                                                             world["study"].id)
    with pytest.raises(ValueError, match="cannot lock"):
        locks.lock(session, "study", world["p"], world["dm"])


def test_lock_over_is_one_query_and_prefers_the_broadest_lock(session, world):
    for scope in ("crf", "participant", "study"):
        locks.lock(session, scope, _target(world, scope), world["dm"])
    session.commit()
    engine = session.get_bind()
    statements = []

    def count(_conn, _cursor, statement, *_args):
        if statement != "BEGIN":
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        lock = locks.lock_over(session, world["entry"])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
    assert lock.scope == "study"
    assert [x.scope for x in locks.locks_over(session, world["entry"])] == \
        ["study", "participant", "crf"]
