"""Hash-chains audit rows as they are flushed, and refuses any change to a stored one.

Rows get their hashes in the order they are inserted (the order their ids follow). The chain
head row is locked while appending, so two transactions never fork the chain (FOR UPDATE on
PostgreSQL; SQLite already holds its single write lock). The lock lasts until the commit and
every writer waits for it, so the new rows are written by `app.audit.append` (one statement
on PostgreSQL) rather than by the ORM's flush, which spent milliseconds of Python per CRF
save inside the lock; their objects then leave the session, which never inserts them. An
event may carry more rows recorded with it (`AuditEvent.batch`): they follow it in the chain.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from app.audit import append
from app.audit.models import AuditEvent
from app.domain.audit import GENESIS, chain_hash
from app.model_base import utcnow


class AuditTampering(RuntimeError):
    """Code tried to change or delete an audit row."""


@event.listens_for(Session, "before_flush")
def _chain_new_rows(session: Session, _context, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditTampering("audit rows are append-only")
    new = sorted((o for o in session.new if isinstance(o, AuditEvent)),
                 key=lambda o: inspect(o).insert_order)
    if not new:
        return
    rows = []
    for obj in new:
        obj.occurred_at = obj.occurred_at or utcnow()
        rows.append({f: getattr(obj, f) for f in append.FIELDS})
        rows.extend(obj.batch)
        session.expunge(obj)  # written below: the flush must not insert it again
    conn = session.connection()
    (append.in_database if conn.dialect.name == "postgresql" else append.in_python)(conn, rows)


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
