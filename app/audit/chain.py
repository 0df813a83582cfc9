"""Hash-chains audit rows as they are flushed, and refuses any change to a stored one.

Rows get their hashes in the order they are inserted (the order their ids follow). The chain
head row is locked while appending, so two transactions never fork the chain (FOR UPDATE on
PostgreSQL; SQLite already holds its single write lock).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from app.audit.models import AuditChain, AuditEvent
from app.domain.audit import GENESIS, chain_hash
from app.model_base import utcnow


class AuditTampering(RuntimeError):
    """Code tried to change or delete an audit row."""


def _head(session: Session) -> AuditChain:
    stmt = select(AuditChain).where(AuditChain.id == 1)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    head = session.scalar(stmt)
    if head is None:
        head = AuditChain(id=1, last_hash=GENESIS)
        session.add(head)
    return head


@event.listens_for(Session, "before_flush")
def _chain_new_rows(session: Session, _context, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditTampering("audit rows are append-only")
    new = sorted((o for o in session.new if isinstance(o, AuditEvent)),
                 key=lambda o: inspect(o).insert_order)
    if not new:
        return
    head = _head(session)
    for row in new:
        row.occurred_at = row.occurred_at or utcnow()
        row.prev_hash = head.last_hash
        row.row_hash = chain_hash(row.prev_hash, row.chained_fields())
        head.last_hash = row.row_hash


@dataclass(frozen=True)
class Verdict:
    rows: int
    broken_at: int | None = None
    problem: str | None = None


def verify(session: Session) -> Verdict:
    """Walk the chain in id order; the first row whose hash or link does not match."""
    stmt = select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=1000)
    result = session.scalars(stmt)
    try:
        return _walk(result)
    finally:
        result.close()  # a server-side cursor on PostgreSQL


def _walk(rows: Iterable[AuditEvent]) -> Verdict:
    previous, count = GENESIS, 0
    for row in rows:
        count += 1
        if row.prev_hash != previous:
            return Verdict(count, row.id, "its link to the row before does not match "
                           "(a row was deleted or inserted)")
        if chain_hash(row.prev_hash, row.chained_fields()) != row.row_hash:
            return Verdict(count, row.id, "its content does not match its hash (edited)")
        previous = row.row_hash
    return Verdict(count)
