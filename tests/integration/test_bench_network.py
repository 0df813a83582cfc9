"""The benchmark network generator: realistic histories, consistent with the scheduler, and an
audit trail whose hash chain still verifies after the bulk writes."""

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.chain import verify
from app.crf.models import CrfEntry, ItemValue
from app.domain.schedule import plan
from app.participants.models import Participant
from app.studies.services import protocol_of
from app.visits.models import Deviation, ParticipantEvent, Visit
from bench.generate import generate
from bench.network import Shape

SHAPE = Shape(sites=3, participants=120, crf_study="UCMSC-LN", bench_participants=6,
              today=date(2026, 11, 30))


def test_generated_network(app, database_url):
    summary = generate(database_url, SHAPE, progress=lambda _line: None)
    assert summary.participants == 126 and summary.visits > 1000
    with Session(app.extensions["db_engine"]) as s:
        assert verify(s).broken_at is None
        per_study = dict(s.execute(select(Participant.study_id, func.count())
                                   .group_by(Participant.study_id)).all())
        assert len(per_study) == 5  # the four studies and BENCH40
        assert s.scalar(select(func.count(ItemValue.id))) == summary.item_values > 0
        done = s.scalar(select(func.count(Visit.id)).where(Visit.actual_date.is_not(None)))
        assert 0 < done < summary.visits
        assert s.scalar(select(func.count(Visit.id)).where(Visit.status != "scheduled")) == 0
        _plans_match_the_scheduler(s)
        entries = s.scalars(select(CrfEntry)).all()
        assert {e.form_code for e in entries} >= {"VS", "LAB", "SLEDAI"}


def _plans_match_the_scheduler(s: Session) -> None:
    """Every participant's visits are the plan of its actual events, as the app makes it."""
    for participant in s.scalars(select(Participant)):
        events = dict(s.execute(select(ParticipantEvent.code, ParticipantEvent.actual_date)
                                .where(ParticipantEvent.participant_id == participant.id)).all())
        schedule = protocol_of(participant.protocol_version).study.schedule
        planned = {(p.code, p.target, p.window_start, p.window_end)
                   for p in plan(schedule, participant.start_date, events)}
        stored = {(v.code, v.target_date, v.window_start, v.window_end)
                  for v in participant.visits}
        assert stored == planned, participant.participant_code


def test_deviations_and_withdrawals_are_consistent(app, database_url):
    generate(database_url, SHAPE, progress=lambda _line: None)
    with Session(app.extensions["db_engine"]) as s:
        late = s.execute(select(Visit).join(Deviation, Deviation.visit_id == Visit.id)).scalars()
        assert all(not v.window_start <= v.actual_date <= v.window_end for v in late)
        cancelled = s.scalars(select(Visit).where(Visit.cancelled_at.is_not(None))).all()
        assert all(v.participant.withdrawn_at is not None and v.actual_date is None
                   for v in cancelled)
