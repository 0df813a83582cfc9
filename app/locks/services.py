"""Locks: a locked CRF, participant or study is read-only."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.crf.models import CrfEntry
from app.locks.models import Lock


class Locked(Exception):
    """The data is under a lock; nothing was changed."""

    def __init__(self, lock: Lock) -> None:
        super().__init__(f"Locked ({lock.scope}) since {lock.locked_at:%Y-%m-%d %H:%M} UTC.")
        self.lock = lock


def lock_over(session: Session, entry: CrfEntry) -> Lock | None:
    """The active lock covering this CRF (its own, its participant's or its study's), if any."""
    return None  # filled in with the locks feature


def ensure_unlocked(session: Session, entry: CrfEntry) -> None:
    lock = lock_over(session, entry)
    if lock is not None:
        raise Locked(lock)
