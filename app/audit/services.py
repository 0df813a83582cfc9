"""The one write path: change a record and write its audit rows in the same transaction.

Services call `create`, `update` or `record_event` and never commit; the caller (a view, a
CLI command, a job) commits once, so data and audit land together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.audit.models import AuditEvent
from app.auth.models import User
from app.domain.audit import FieldChange, diff
from app.model_base import Base, utcnow


class ConflictError(Exception):
    """Someone else saved this record since it was read (optimistic locking)."""

    def __init__(self, obj: Base, expected_version: int) -> None:
        super().__init__(f"{type(obj).__name__} changed since version {expected_version}")
        self.obj = obj
        self.expected_version = expected_version


class ReasonRequired(ValueError):
    """A change to saved data needs a reason."""


def before_version(obj: Base) -> int:
    return getattr(obj, "version", 0) or 0


def flush_or_conflict(session: Session, obj: Base, expected_version: int) -> None:
    """Flush; a concurrent writer (a stale version, or the same new row twice) is a conflict.

    On SQLite writers take turns, so this only happens on PostgreSQL, where two requests
    can pass the version check at once and the second UPDATE then matches no row.
    """
    try:
        session.flush()
    except (StaleDataError, IntegrityError) as exc:
        raise ConflictError(obj, expected_version) from exc


def snapshot(obj: Base) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in type(obj).AUDITED}


def _site_of(obj: Base) -> int | None:
    if obj.__tablename__ == "sites":
        return obj.id
    return getattr(obj, "site_id", None)


def record_changes(
    session: Session, changes: list[FieldChange], *, action: str, entity_type: str,
    entity_id: int, site_id: int | None, actor: User | None, reason: str | None,
) -> None:
    """One audit row per changed field, all with the same time: the first an AuditEvent in the
    session (it is what the flush writes), the others carried by it (`AuditEvent.batch`)."""
    if not changes:
        return
    common = {"occurred_at": utcnow(), "actor_id": actor.id if actor else None,
              "action": action, "entity_type": entity_type, "entity_id": entity_id,
              "site_id": site_id, "reason": reason}
    rows = [{**common, "field": c.field, "old_value": c.old, "new_value": c.new}
            for c in changes]
    first = AuditEvent(**rows[0])
    first.batch = tuple(rows[1:])
    session.add(first)


def _record(session: Session, obj: Base, action: str, changes: list[FieldChange],
            actor: User | None, reason: str | None) -> None:
    record_changes(session, changes, action=action, entity_type=obj.__tablename__,
                   entity_id=obj.id, site_id=_site_of(obj), actor=actor, reason=reason)


def create(session: Session, obj: Base, *, actor: User | None, reason: str | None = None) -> Base:
    session.add(obj)
    session.flush()  # assigns the id the audit rows point at
    _record(session, obj, "create", diff({}, snapshot(obj)), actor, reason)
    return obj


def update(
    session: Session,
    obj: Base,
    values: Mapping[str, Any],
    *,
    actor: User | None,
    reason: str | None,
    expected_version: int | None = None,
    require_reason: bool = True,
) -> list[FieldChange]:
    """Apply `values` to `obj`; audit each changed field. Nothing changes on a conflict."""
    if expected_version is not None and obj.version != expected_version:
        raise ConflictError(obj, expected_version)
    before = snapshot(obj)
    changes = diff(before, {**before, **values})
    if not changes:
        return []
    if require_reason and not (reason and reason.strip()):
        raise ReasonRequired("Give a reason for this change.")
    for name, value in values.items():
        setattr(obj, name, value)
    flush_or_conflict(session, obj, expected_version or before_version(obj))
    _record(session, obj, "update", changes, actor, reason)
    return changes


def record_event(
    session: Session,
    action: str,
    *,
    actor: User | None,
    entity_type: str,
    entity_id: int | None = None,
    site_id: int | None = None,
    detail: str | None = None,
    reason: str | None = None,
) -> AuditEvent:
    """An event that is not a field change: a login, a role grant, a signature, …"""
    event = AuditEvent(
        occurred_at=utcnow(), actor_id=actor.id if actor else None, action=action,
        entity_type=entity_type, entity_id=entity_id, site_id=site_id,
        new_value=detail, reason=reason,
    )
    session.add(event)
    return event


def history(session: Session, *targets: tuple[str, int]) -> list[AuditEvent]:
    """Every audit row of these (entity type, id) pairs, oldest first: a history page."""
    about = [and_(AuditEvent.entity_type == kind, AuditEvent.entity_id == ident)
             for kind, ident in targets]
    return list(session.scalars(select(AuditEvent).where(or_(*about)).order_by(AuditEvent.id)))
