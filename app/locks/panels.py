"""What the lock banners and panels of other pages show, and the page a refused write gets.

The CRF page, the participant page and the studies page call these for their context; the
templates under templates/locks/ display it.
"""

from __future__ import annotations

from typing import Any

from flask import render_template
from sqlalchemy.orm import Session

from app import access
from app.crf.models import CrfEntry
from app.domain.access import Permission
from app.locks import services
from app.locks.forms import lock_form, unlock_form
from app.locks.models import Lock
from app.participants.models import Participant


def _forms(locks: list[Lock], scope: str, target_id: int | None) -> dict[str, Any]:
    own = next((lock for lock in locks if lock.scope == scope), None)
    return {"own_lock": own,
            "lock_form": lock_form(scope, target_id) if target_id and own is None else None,
            "unlock_form": unlock_form(own.id) if own else None}


def crf_context(session: Session, entry: CrfEntry | None,
                participant: Participant) -> dict[str, Any]:
    """For templates/locks/_crf_banner.html. A CRF not saved yet cannot be locked itself,
    but its participant's or study's lock covers it."""
    covering = (services.locks_over(session, entry) if entry
                else services.participant_locks(session, participant))
    return {"crf_locks": covering, "lock_tz": participant.site.timezone,
            "can_lock": access.can(Permission.LOCK, participant.site_id, participant.study_id),
            **_forms(covering, "crf", entry.id if entry else None)}


def participant_context(session: Session, participant: Participant) -> dict[str, Any]:
    """For templates/locks/_participant_panel.html."""
    covering = services.participant_locks(session, participant)
    return {"participant_locks": covering, "lock_tz": participant.site.timezone,
            "can_lock": access.can(Permission.LOCK, participant.site_id, participant.study_id),
            **_forms(covering, "participant", participant.id)}


def studies_context(session: Session, study_ids: list[int]) -> dict[str, Any]:
    """For the lock column of the studies page: a study lock needs LOCK at every site."""
    active = services.study_locks(session)
    allowed = {sid for sid in study_ids if access.can(Permission.LOCK, None, sid)}
    return {"study_locks": active,
            "study_lock_forms": {sid: lock_form("study", sid) for sid in allowed
                                 if sid not in active},
            "study_unlock_forms": {sid: unlock_form(active[sid].id) for sid in allowed
                                   if sid in active}}


def refused(session: Session, lock: Lock, tz: str | None, back: str):
    """The answer to a write on locked data: 409, saying what is locked, by whom and why."""
    return render_template("locks/locked.html", lock=lock, tz=tz, back=back,
                           what=services.describe(session, lock),
                           message=str(services.Locked(lock))), 409


def refuse_if_participant_locked(session: Session, participant: Participant, back: str):
    """A 409 page when the participant (or its study) is locked, else None."""
    lock = services.participant_lock(session, participant)
    return None if lock is None else refused(session, lock, participant.site.timezone, back)
