"""Screening to enrolment: start, evaluate, record a screen failure, enrol, randomize."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.auth.models import User
from app.crf import services as crf_services
from app.crf.models import CrfEntry
from app.domain.definitions import Protocol
from app.domain.eligibility import Verdict, check
from app.domain.randomization import allocation, stratum_key
from app.domain.schedule import AnchorKind
from app.locks import services as locks
from app.model_base import utcnow
from app.participants.models import Participant
from app.participants.services import next_value
from app.randomization.models import Assignment, RandomizationScheme
from app.screening.models import Screening, ScreeningStatus
from app.sites.models import Site
from app.studies.models import ProtocolVersion
from app.studies.services import protocol_of
from app.visits import services as visits


class ScreeningError(ValueError):
    """A step of screening that cannot be taken now; the message says why."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def start(session: Session, version: ProtocolVersion, site: Site, number: str, *,
          actor: User) -> Screening:
    locks.ensure_study_unlocked(session, version.study_id)
    number = number.strip()
    if not number:
        raise ScreeningError("Enter a screening number.", "screening_number")
    taken = session.scalar(select(Screening.id).where(
        Screening.site_id == site.id, Screening.study_id == version.study_id,
        Screening.screening_number == number))
    if taken is not None:
        raise ScreeningError(f"Screening number {number} is already used at {site.code}.",
                             "screening_number")
    screening = Screening(site_id=site.id, study_id=version.study_id,
                          protocol_version_id=version.id, screening_number=number,
                          started_by_id=actor.id)
    audit.create(session, screening, actor=actor)
    session.add(CrfEntry(site_id=site.id, protocol_version_id=version.id,
                         form_code=protocol_of(version).study.screening_form,
                         screening_id=screening.id))
    session.flush()
    return screening


def protocol(screening: Screening) -> Protocol:
    return protocol_of(screening.protocol_version)


def verdict(screening: Screening) -> Verdict:
    form = protocol(screening).screening
    entry = crf_services.typed_values(form, screening.entry)
    return check(form, entry.context(form), screening.subgroup)


def _require_open(screening: Screening) -> None:
    if screening.status != ScreeningStatus.IN_PROGRESS:
        raise ScreeningError("This screening is closed: "
                             f"{screening.status.replace('_', ' ')}.")


def _require_writable(session: Session, screening: Screening) -> None:
    """Open, and its study not locked (a locked study takes no new data at all)."""
    _require_open(screening)
    locks.ensure_study_unlocked(session, screening.study_id)


def save_screening_values(session: Session, screening: Screening, raw: dict, *, actor: User,
                          reason: str | None, expected_version: int | None):
    _require_open(screening)
    return crf_services.save(session, screening.entry, protocol(screening).screening, raw,
                             actor=actor, reason=reason, expected_version=expected_version)


def set_subgroup(session: Session, screening: Screening, subgroup: str | None, *,
                 actor: User) -> None:
    _require_writable(session, screening)
    codes = {s.code for s in protocol(screening).study.subgroups}
    if subgroup and subgroup not in codes:
        raise ScreeningError(f"Choose one of: {', '.join(sorted(codes))}.", "subgroup")
    audit.update(session, screening, {"subgroup": subgroup or None}, actor=actor,
                 reason="sub-group chosen at screening", require_reason=False)


def record_failure(session: Session, screening: Screening, *, actor: User) -> Verdict:
    _require_writable(session, screening)
    result = verdict(screening)
    if result.eligible is not False:
        raise ScreeningError("Only a candidate who fails a criterion is a screen failure.")
    reasons = [{"id": c.id, "kind": c.kind.value, "text": c.text, "reason": c.reason}
               for c in result.failures]
    _close(session, screening, ScreeningStatus.SCREEN_FAILED, actor)
    screening.failure_reasons = reasons
    return result


def _close(session: Session, screening: Screening, status: ScreeningStatus, actor: User) -> None:
    audit.update(session, screening, {"status": status.value}, actor=actor,
                 reason="decided at screening", require_reason=False)
    screening.decided_at, screening.decided_by_id = utcnow(), actor.id


def _check_day(on: date | None, site: Site) -> date:
    today = visits.site_today(site)
    if on is None:
        return today
    if on > today:
        raise ScreeningError("The date cannot be in the future.", "on")
    return on


def enroll(session: Session, screening: Screening, *, actor: User,
           on: date | None = None) -> Participant:
    """Enrol an eligible candidate under the screening's protocol version, on `on` (day 0 of a
    schedule counted from enrolment; the site's today when not given)."""
    _require_writable(session, screening)
    on = _check_day(on, screening.site)
    study = protocol(screening).study
    if study.subgroups and not screening.subgroup:
        raise ScreeningError("Choose the sub-group before enrolling.", "subgroup")
    if verdict(screening).eligible is not True:
        raise ScreeningError("Only a candidate who meets every criterion can be enrolled.")
    number = next_value(session, screening.site_id, screening.study_id, "participant")
    single_arm = study.arms[0].code if len(study.arms) == 1 and not study.randomization else None
    participant = Participant(
        site_id=screening.site_id, study_id=screening.study_id,
        protocol_version_id=screening.protocol_version_id, screening_id=screening.id,
        participant_code=f"{screening.site.code}-{number:03d}", subgroup=screening.subgroup,
        arm=single_arm, enrolled_by_id=actor.id,
    )
    audit.create(session, participant, actor=actor)
    _close(session, screening, ScreeningStatus.ENROLLED, actor)
    _start_schedule(session, participant, AnchorKind.ENROLLMENT, on, actor)
    return participant


def _start_schedule(session: Session, participant: Participant, moment: AnchorKind, on: date,
                    actor: User) -> None:
    """Plan the visits from `on` when the schedule is counted from `moment`."""
    session.refresh(participant, ["protocol_version", "site"])
    if visits.root_kind(visits.schedule_of(participant)) is moment:
        visits.generate(session, participant, on, actor=actor)


def set_seed(session: Session, study_id: int, seed: str, *, actor: User) -> None:
    """The data manager's seed; set once, before the first randomization."""
    if len(seed.strip()) < 12:
        raise ScreeningError("Use a seed of at least 12 characters.", "seed")
    if session.scalar(select(RandomizationScheme.id)
                      .where(RandomizationScheme.study_id == study_id)) is not None:
        raise ScreeningError("This study's seed is set and cannot be changed.", "seed")
    session.add(RandomizationScheme(study_id=study_id, seed=seed.strip(),
                                    created_by_id=actor.id))
    audit.record_event(session, "randomization_seed_set", actor=actor, entity_type="studies",
                       entity_id=study_id)


def randomize(session: Session, participant: Participant, *, actor: User,
              on: date | None = None) -> Assignment:
    """Allocate the next position of the participant's stratum. Once only, never redone."""
    locks.ensure_participant_unlocked(session, participant)
    on = _check_day(on, participant.site)
    scheme = protocol_of(participant.protocol_version).study.randomization
    if scheme is None:
        raise ScreeningError("This study is not randomized.")
    if participant.arm is not None:
        raise ScreeningError(f"{participant.participant_code} is already allocated.")
    seed = session.scalar(select(RandomizationScheme.seed)
                          .where(RandomizationScheme.study_id == participant.study_id))
    if seed is None:
        raise ScreeningError("The data manager has not set this study's randomization seed.")
    stratum = stratum_key(scheme, {"site": participant.site.code})
    position = next_value(session, participant.site_id, participant.study_id, "randomization")
    arm = allocation(scheme, seed, stratum, position)
    assignment = Assignment(study_id=participant.study_id, stratum=stratum, position=position,
                            arm=arm, participant_id=participant.id, assigned_by_id=actor.id)
    session.add(assignment)
    audit.update(session, participant, {"arm": arm}, actor=actor, reason="randomized",
                 require_reason=False)
    audit.record_event(session, "randomized", actor=actor, entity_type="participants",
                       entity_id=participant.id, site_id=participant.site_id,
                       detail=f"{participant.participant_code}: {stratum} #{position} → {arm}")
    _start_schedule(session, participant, AnchorKind.RANDOMIZATION, on, actor)
    return assignment
