"""Two saves that both passed the version check: the second is a conflict, never a crash.

Each session reads the CRF at the same version before either writes, as two requests on
PostgreSQL can; the loser's UPDATE then matches no row (or its first INSERT hits the
unique key) and comes back as ConflictError, which every view turns into the conflict page.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.services import ConflictError
from app.crf import services as crf_services
from app.crf.models import CrfEntry
from app.studies.services import protocol_of
from app.visits import services as visit_services
from tests.support import factories


@pytest.fixture
def lab(session, two_sites):
    participant = factories.enrolled(session, two_sites["a"], "CS20AT04",
                                     date.today() - timedelta(days=20), two_sites["coord_a"])
    visit = next(v for v in participant.visits
                 if "LAB" in visit_services.schedule_of(participant).visit(v.code).forms)
    session.commit()
    form = protocol_of(participant.protocol_version).forms["LAB"]
    return participant, visit, form


def _new_entry(participant, visit) -> CrfEntry:
    return CrfEntry(site_id=participant.site_id, participant_id=participant.id,
                    visit_id=visit.id, form_code="LAB", sequence=1,
                    protocol_version_id=participant.protocol_version_id)


def test_the_second_of_two_racing_edits_is_a_conflict(app, session, two_sites, lab):
    if app.extensions["db_engine"].dialect.name != "postgresql":
        pytest.skip("SQLite writers take turns (BEGIN IMMEDIATE): this race cannot happen")
    participant, visit, form = lab
    entry = _new_entry(participant, visit)
    session.add(entry)
    crf_services.save(session, entry, form, {"HGB": {"value": "12", "unit": "g/dL"}},
                      actor=two_sites["coord_a"], reason=None)
    session.commit()
    engine = app.extensions["db_engine"]
    with Session(engine) as first, Session(engine) as second:
        mine = first.get(CrfEntry, entry.id)
        theirs = second.get(CrfEntry, entry.id)
        read = mine.version
        assert theirs.version == read  # both passed the check with the same version
        crf_services.save(first, mine, form, {"HGB": {"value": "13", "unit": "g/dL"}},
                          actor=first.merge(two_sites["coord_a"]), reason="typo",
                          expected_version=read)
        first.commit()
        with pytest.raises(ConflictError):
            crf_services.save(second, theirs, form, {"HGB": {"value": "14", "unit": "g/dL"}},
                              actor=second.merge(two_sites["coord_a"]), reason="typo",
                              expected_version=read)
        second.rollback()
    session.expire_all()
    stored = session.get(CrfEntry, entry.id)
    assert {v.item_code: v.value for v in stored.values}["HGB"] == "13"


def test_two_first_saves_of_one_crf_make_one_entry(app, session, two_sites, lab):
    from app.audit.services import flush_or_conflict

    participant, visit, _ = lab
    engine = app.extensions["db_engine"]
    with Session(engine) as first, Session(engine) as second:
        first.add(_new_entry(participant, visit))
        flush_or_conflict(first, CrfEntry(), 0)
        first.commit()
        second.add(_new_entry(participant, visit))
        with pytest.raises(ConflictError):
            flush_or_conflict(second, CrfEntry(), 0)
        second.rollback()
    session.expire_all()
    assert len(session.scalars(select(CrfEntry).where(CrfEntry.visit_id == visit.id)).all()) == 1


def test_a_cleared_value_entered_again_needs_a_reason(session, two_sites, lab):
    from app.audit.services import ReasonRequired

    participant, visit, form = lab
    entry = _new_entry(participant, visit)
    session.add(entry)
    actor = two_sites["coord_a"]
    crf_services.save(session, entry, form, {"HGB": {"value": "12", "unit": "g/dL"}},
                      actor=actor, reason=None)
    crf_services.save(session, entry, form, {"HGB": {"value": "", "unit": "g/dL"}},
                      actor=actor, reason="entered on the wrong visit")
    with pytest.raises(ReasonRequired):
        crf_services.save(session, entry, form, {"HGB": {"value": "9", "unit": "g/dL"}},
                          actor=actor, reason=None)
