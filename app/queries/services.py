"""Data clarification queries: raised on an item, answered, closed or reopened.

Each step adds a message to the query's conversation and an audit row, in the caller's
transaction (the caller commits once). Who may take a step is the view's check; which step
may follow which is `app.domain.queries`.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.audit.models import AuditEvent
from app.auth.models import User
from app.crf.models import CrfEntry
from app.domain.audit import FieldChange
from app.domain.definitions import FormDef
from app.domain.queries import (
    QueryAction,
    QueryStatus,
    correction_text,
    next_status,
    soft_range_text,
)
from app.domain.values import Entry, canonical, outside_soft_range
from app.locks import services as locks
from app.model_base import utcnow
from app.queries.models import Query, QueryMessage
from app.studies.models import ProtocolVersion

CLOSED = QueryStatus.CLOSED.value


def study_of(session: Session, entry: CrfEntry) -> int:
    return session.get(ProtocolVersion, entry.protocol_version_id).study_id


def raise_query(session: Session, entry: CrfEntry, item_code: str, text: str, *,
                actor: User) -> Query:
    """A monitor's question on one item. Raises Locked when the CRF is locked."""
    locks.ensure_unlocked(session, entry)
    query = _open(session, entry, item_code, text, author=actor)
    _audit(session, query, "query_raise", actor, text)
    return query


def answer(session: Session, query: Query, text: str, *, actor: User,
           expected_version: int | None = None) -> None:
    """The site's answer in words. Raises Locked, ConflictError or TransitionRefused."""
    locks.ensure_unlocked(session, query.entry)
    _step(session, query, QueryAction.ANSWER, text, actor, expected_version)
    _audit(session, query, "query_answer", actor, text)


def close(session: Session, query: Query, text: str | None, *, actor: User,
          expected_version: int | None = None) -> None:
    """The monitor accepts the answer (or withdraws the question); a note is optional."""
    note = (text or "").strip() or "Closed."
    _step(session, query, QueryAction.CLOSE, note, actor, expected_version)
    _audit(session, query, "query_close", actor, note)


def reopen(session: Session, query: Query, text: str, *, actor: User,
           expected_version: int | None = None) -> None:
    """Ask again. Refused under a lock: the site could neither answer nor correct."""
    locks.ensure_unlocked(session, query.entry)
    _step(session, query, QueryAction.REOPEN, text, actor, expected_version)
    _audit(session, query, "query_reopen", actor, text)


def after_save(session: Session, entry: CrfEntry, form: FormDef, parsed: Entry,
               changes: list[FieldChange], actor: User, created: bool = False) -> None:
    """Called by the CRF save, in its transaction, with the values it changed.

    A changed item with an open query gets a "correct" message (old → new, with the change
    reason) and the query is answered; a changed value outside its soft range opens an
    automatic query, unless the item already has one that is not closed.
    """
    changed = {c.field: c for c in changes if c.field in form.items}
    if not changed:
        return
    pending = [] if created else list(session.scalars(select(Query).where(  # none on a new CRF
        Query.entry_id == entry.id, Query.item_code.in_(list(changed)),
        Query.status != CLOSED)))
    _record_corrections(session, entry, [q for q in pending if q.status == QueryStatus.OPEN],
                        changed, actor)
    asked = {q.item_code for q in pending}
    for code, change in changed.items():
        item, value = form.items[code], parsed.values.get(code)
        if code in asked or not outside_soft_range(item, value):
            continue
        text = soft_range_text(item.label, change.new or "", canonical(item, value), item.unit,
                               item.soft)
        query = _open(session, entry, code, text, author=None)
        _audit(session, query, "query_auto", None, text)


def _record_corrections(session: Session, entry: CrfEntry, queries: list[Query],
                        changed: dict[str, FieldChange], actor: User) -> None:
    if not queries:
        return
    reasons = _latest_reasons(session, entry, {q.item_code for q in queries})
    for query in queries:
        change = changed[query.item_code]
        text = correction_text(query.item_code, change.old, change.new,
                               reasons.get(query.item_code))
        _step(session, query, QueryAction.CORRECT, text, actor, None)
        _audit(session, query, "query_answer", actor, text)


def _latest_reasons(session: Session, entry: CrfEntry, codes: set[str]) -> dict[str, str | None]:
    """Each item's reason as the save just wrote it: its newest audit row for this CRF."""
    session.flush()  # the save's own audit rows (it defers them: see app.crf.services.save)
    rows = session.execute(select(AuditEvent.field, AuditEvent.reason).where(
        AuditEvent.entity_type == "crf_entries", AuditEvent.entity_id == entry.id,
        AuditEvent.field.in_(codes)).order_by(AuditEvent.id))
    return {field: reason for field, reason in rows}


def _open(session: Session, entry: CrfEntry, item_code: str, text: str, *,
          author: User | None) -> Query:
    """A new open query with its first message; no author means the range check opened it."""
    now = utcnow()
    query = Query(site_id=entry.site_id, study_id=study_of(session, entry),
                  participant_id=entry.participant_id, entry_id=entry.id, item_code=item_code,
                  status=QueryStatus.OPEN.value, automatic=author is None, opened_at=now,
                  opened_by_id=author.id if author else None, updated_at=now)
    action = QueryAction.RAISE if author else QueryAction.AUTO
    query.messages.append(QueryMessage(author_id=author.id if author else None,
                                       action=action.value, text=text, created_at=now))
    session.add(query)
    session.flush()  # the id the audit row points at
    return query


def _step(session: Session, query: Query, action: QueryAction, text: str, actor: User | None,
          expected_version: int | None) -> None:
    if expected_version is not None and query.version != expected_version:
        raise audit.ConflictError(query, expected_version)
    status = next_status(query.status, action)
    now = utcnow()
    query.status, query.updated_at = status.value, now
    query.closed_at = now if status is QueryStatus.CLOSED else None
    query.messages.append(QueryMessage(author_id=actor.id if actor else None,
                                       action=action.value, text=text, created_at=now))
    session.flush()  # the version column catches a concurrent step here


def _audit(session: Session, query: Query, action: str, actor: User | None, text: str) -> None:
    audit.record_event(session, action, actor=actor, entity_type="queries", entity_id=query.id,
                       site_id=query.site_id, detail=f"{query.item_code}: {text}")


def on_entry(session: Session, entry_id: int) -> list[Query]:
    """Every query on one CRF, oldest first."""
    return list(session.scalars(select(Query).where(Query.entry_id == entry_id)
                                .order_by(Query.id)))


def open_per_site(session: Session, *where: ColumnElement[bool]) -> dict[int, int]:
    """Queries not yet closed, per site, in one statement (`where`: the caller's scope)."""
    stmt = (select(Query.site_id, func.count()).where(Query.status != CLOSED, *where)
            .group_by(Query.site_id))
    return {key: n for key, n in session.execute(stmt)}


def open_per_participant(session: Session, *where: ColumnElement[bool]) -> dict[int, int]:
    """Queries not yet closed, per participant, in one statement (screening CRFs have none)."""
    stmt = (select(Query.participant_id, func.count())
            .where(Query.status != CLOSED, Query.participant_id.is_not(None), *where)
            .group_by(Query.participant_id))
    return {key: n for key, n in session.execute(stmt)}
