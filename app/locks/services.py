"""Locks: a locked CRF, participant or study is read-only.

A lock covers a CRF through any of three rows: the CRF's own, its participant's, its study's.
Every write path asks `ensure_unlocked` (a CRF) or `ensure_participant_unlocked` /
`ensure_study_unlocked` before changing anything; the views turn `Locked` into a 409.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, or_, select
from sqlalchemy.orm import Session, joinedload

from app.audit import services as audit
from app.auth.models import User
from app.crf.models import CrfEntry
from app.locks.models import Lock
from app.model_base import utcnow
from app.participants.models import Participant
from app.screening.models import Screening
from app.studies.models import ProtocolVersion, Study
from app.studies.services import protocol_of
from app.visits.models import Visit

_WHAT = {"crf": "This CRF is locked", "participant": "This participant's data is locked",
         "study": "This study is locked"}
# The broadest lock first: it is the one that has to be lifted before anything can change.
_BROADEST_FIRST = case({"study": 0, "participant": 1}, value=Lock.scope, else_=2)


class Locked(Exception):
    """The data is under a lock; nothing was changed."""

    def __init__(self, lock: Lock) -> None:
        super().__init__(f"{_WHAT[lock.scope]}; nothing was saved.")
        self.lock = lock


class LockError(ValueError):
    """A lock or unlock that cannot be done; the message says why."""

    def __init__(self, message: str, field: str | None = "reason") -> None:
        super().__init__(message)
        self.field = field


def _on(scope: str, target: Any) -> ColumnElement[bool]:
    return and_(Lock.scope == scope, Lock.target_id == target)


def _covering(session: Session, *clauses: ColumnElement[bool]) -> list[Lock]:
    """Active locks matching any clause, broadest first: one query."""
    stmt = (select(Lock).where(Lock.unlocked_at.is_(None), or_(*clauses))
            .order_by(_BROADEST_FIRST, Lock.id)
            # who locked it comes in the same query; their role grants are not needed
            .options(joinedload(Lock.locked_by).lazyload(User.grants)))
    return list(session.scalars(stmt).unique())


def locks_over(session: Session, entry: CrfEntry) -> list[Lock]:
    """Every active lock covering this CRF. A screening CRF has no participant."""
    study_id = (select(ProtocolVersion.study_id)
                .where(ProtocolVersion.id == entry.protocol_version_id).scalar_subquery())
    clauses = [_on("study", study_id)]
    if entry.id is not None:  # not a CRF being created: it may have a lock of its own
        clauses.append(_on("crf", entry.id))
    if entry.participant_id is not None:
        clauses.append(_on("participant", entry.participant_id))
    return _covering(session, *clauses)


def lock_over(session: Session, entry: CrfEntry) -> Lock | None:
    """The active lock covering this CRF (its own, its participant's or its study's), if any."""
    return next(iter(locks_over(session, entry)), None)


def participant_locks(session: Session, participant: Participant) -> list[Lock]:
    return _covering(session, _on("participant", participant.id),
                     _on("study", participant.study_id))


def participant_lock(session: Session, participant: Participant) -> Lock | None:
    """The participant's own lock or its study's, if any."""
    return next(iter(participant_locks(session, participant)), None)


def study_lock(session: Session, study_id: int) -> Lock | None:
    return next(iter(_covering(session, _on("study", study_id))), None)


def study_locks(session: Session) -> dict[int, Lock]:
    """Every study's active lock, by study id (for the studies page)."""
    return {lock.target_id: lock for lock in _covering(session, Lock.scope == "study")}


def ensure_unlocked(session: Session, entry: CrfEntry) -> None:
    lock = lock_over(session, entry)
    if lock is not None:
        raise Locked(lock)


def ensure_participant_unlocked(session: Session, participant: Participant) -> None:
    lock = participant_lock(session, participant)
    if lock is not None:
        raise Locked(lock)


def ensure_study_unlocked(session: Session, study_id: int) -> None:
    lock = study_lock(session, study_id)
    if lock is not None:
        raise Locked(lock)


def entry_study_id(session: Session, entry: CrfEntry) -> int:
    return session.get(ProtocolVersion, entry.protocol_version_id).study_id


def _where(session: Session, scope: str, target: Any) -> tuple[int | None, int]:
    """(site id, study id) of a lock's target; a study lock belongs to no one site."""
    if scope == "crf" and isinstance(target, CrfEntry):
        return target.site_id, entry_study_id(session, target)
    if scope == "participant" and isinstance(target, Participant):
        return target.site_id, target.study_id
    if scope == "study" and isinstance(target, Study):
        return None, target.id
    raise ValueError(f"cannot lock a {type(target).__name__} as scope {scope!r}")


def _hold(session: Session, target: Any) -> None:
    """Row-lock the target on PostgreSQL so two data managers cannot lock it twice at once
    (SQLite already runs writing transactions one at a time)."""
    model = type(target)
    session.execute(select(model.id).where(model.id == target.id).with_for_update())


def lock(session: Session, scope: str, target: Any, actor: User,
         reason: str | None = None) -> Lock:
    """Lock a CRF entry, a participant or a study; audited. Locking twice is refused."""
    site_id, study_id = _where(session, scope, target)
    _hold(session, target)
    existing = session.scalar(select(Lock).where(_on(scope, target.id),
                                                 Lock.unlocked_at.is_(None)))
    if existing is not None:
        raise LockError(f"Already locked by {existing.locked_by.full_name}; "
                        "nothing was changed.")
    row = Lock(scope=scope, target_id=target.id, study_id=study_id, site_id=site_id,
               locked_by_id=actor.id, reason=(reason or "").strip() or None)
    session.add(row)
    session.flush()
    audit.record_event(session, "lock", actor=actor, entity_type="locks", entity_id=row.id,
                       site_id=site_id, detail=describe(session, row), reason=row.reason)
    return row


def unlock(session: Session, lock: Lock, actor: User, reason: str) -> None:
    """Lift a lock; the reason is required. The row stays, with who, when and why."""
    if lock.unlocked_at is not None:
        raise LockError("This lock was lifted already.", None)
    if not (reason or "").strip():
        raise LockError("Give the reason for unlocking.")
    lock.unlocked_at, lock.unlocked_by_id = utcnow(), actor.id
    lock.unlock_reason = reason.strip()
    session.flush()
    audit.record_event(session, "unlock", actor=actor, entity_type="locks", entity_id=lock.id,
                       site_id=lock.site_id, detail=describe(session, lock),
                       reason=lock.unlock_reason)


def describe(session: Session, lock: Lock) -> str:
    """What a lock is on, for the audit trail and the pages: 'participant SITEA-001'."""
    return label(session, lock.scope, lock.target_id)


def label(session: Session, scope: str, target_id: int) -> str:
    if scope == "study":
        return f"study {session.get(Study, target_id).code}"
    if scope == "participant":
        return f"participant {session.get(Participant, target_id).participant_code}"
    return _crf_label(session, session.get(CrfEntry, target_id))


def _crf_label(session: Session, entry: CrfEntry) -> str:
    """'CRF Vital signs of SITEA-001, Week 1 after infusion 1' (#2 for a second instance)."""
    version = session.get(ProtocolVersion, entry.protocol_version_id)
    title = protocol_of(version).forms[entry.form_code].title
    number = f" #{entry.sequence}" if entry.sequence > 1 else ""
    if entry.participant_id is None:
        screening = session.get(Screening, entry.screening_id)
        return f"{title} of screening {screening.screening_number}"
    code = session.get(Participant, entry.participant_id).participant_code
    visit = session.get(Visit, entry.visit_id) if entry.visit_id else None
    return f"CRF {title}{number} of {code}" + (f", {visit.name}" if visit else "")
