"""The rows of the ODM export: a protocol version's CRF instances in the file's order, and
their values (or every change of each), read as two streams in that order and put together.

Two streams rather than one joined: an instance's subject, visit and signatures come once,
not once per value (a CRF has a dozen values or more), and only the instances are sorted
by where they belong; the values follow their instance's number.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator

from sqlalchemy import Connection, and_, case, func, null, or_, select
from sqlalchemy.orm import aliased

from app.audit.models import AuditEvent
from app.crf.models import CrfEntry, ItemValue
from app.exports.csv_export import streamed
from app.participants.models import Participant
from app.screening.models import Screening
from app.signatures.models import Signature
from app.sites.models import Site
from app.visits.models import Visit

CHANGES = ("enter", "update")

# Enrolled participants first (screening, then visits by date), then screenings that did not
# lead to enrolment; written as portable CASEs rather than NULLS FIRST/LAST.
_ORDER = (case((Participant.id.is_(None), 1), else_=0), Participant.id,
          case((Visit.id.is_(None), 0), else_=1), Screening.id, Visit.target_date, Visit.id,
          CrfEntry.form_code, CrfEntry.sequence)


def instances(conn: Connection, version_id: int, site_ids: frozenset[int] | None,
              history: bool) -> Iterator[tuple[tuple, list[tuple]]]:
    """(instance, its rows) for each CRF instance with a value, in the file's order. A row
    is a value with the audit row of its last change, or with `history` every change of
    every value, oldest first."""
    entries = _entries(version_id, site_ids)
    heads = _records(conn, select(*entries.c).order_by(entries.c.pos))
    rows = _records(conn, (_changes if history else _values)(entries, version_id, site_ids))
    try:
        yield from _merged(heads, rows)
    finally:  # a client that goes away mid-file must not leave a server cursor open
        rows.close()
        heads.close()


def _merged(heads: Iterator[tuple], rows: Iterator[tuple]) -> Iterator[tuple[tuple, list]]:
    """Both in instance order; an instance without a row is left out (it holds no value)."""
    row = next(rows, None)
    for head in heads:
        own = []
        while row is not None and row.eid == head.eid:
            own.append(row)
            row = next(rows, None)
        if own:
            yield head, own


def _records(conn: Connection, stmt) -> Iterator[tuple]:
    """The rows as named tuples: the XML reads many fields of each, and a Row's field by
    name costs about ten times a named tuple's."""
    record = namedtuple("Record", stmt.selected_columns.keys())._make
    rows = streamed(conn, stmt)
    try:
        yield from map(record, rows)
    finally:
        rows.close()


def _scope(version_id: int, site_ids: frozenset[int] | None):
    stmt = select(CrfEntry.id).where(CrfEntry.protocol_version_id == version_id)
    return stmt if site_ids is None else stmt.where(CrfEntry.site_id.in_(sorted(site_ids)))


def _entries(version_id: int, site_ids: frozenset[int] | None):
    """The CRF instances: where each belongs (subject, site, visit), the signatures valid now,
    and its place in the file (`pos`)."""
    form_sig, visit_sig = _latest_valid("crf"), _latest_valid("visit")
    fsig, vsig = aliased(Signature), aliased(Signature)
    stmt = (select(CrfEntry.id.label("eid"), func.row_number().over(order_by=_ORDER).label("pos"),
                   func.coalesce(Participant.participant_code,
                                 Screening.screening_number).label("participant_code"),
                   Site.code.label("site"), Visit.id.label("vid"),
                   Visit.code.label("visit"), CrfEntry.form_code,
                   CrfEntry.sequence, fsig.signer_id.label("f_signer"),
                   fsig.meaning.label("f_meaning"), fsig.signed_at.label("f_at"),
                   vsig.signer_id.label("v_signer"), vsig.meaning.label("v_meaning"),
                   vsig.signed_at.label("v_at"))
            .select_from(CrfEntry)
            .outerjoin(Screening, Screening.id == CrfEntry.screening_id)
            .outerjoin(Participant, or_(  # a visit's CRF, or the screening of someone enrolled
                Participant.id == CrfEntry.participant_id,
                and_(CrfEntry.participant_id.is_(None),
                     Participant.screening_id == CrfEntry.screening_id)))
            .join(Site, Site.id == CrfEntry.site_id)
            .outerjoin(Visit, Visit.id == CrfEntry.visit_id)
            .outerjoin(form_sig, form_sig.c.target_id == CrfEntry.id)
            .outerjoin(fsig, fsig.id == form_sig.c.last_id)
            .outerjoin(visit_sig, visit_sig.c.target_id == Visit.id)
            .outerjoin(vsig, vsig.id == visit_sig.c.last_id)
            .where(CrfEntry.protocol_version_id == version_id))
    if site_ids is not None:
        stmt = stmt.where(CrfEntry.site_id.in_(sorted(site_ids)))
    return stmt.subquery()


def _latest_valid(target: str):
    return (select(Signature.target_id, func.max(Signature.id).label("last_id"))
            .where(Signature.target == target, Signature.invalidated_at.is_(None))
            .group_by(Signature.target_id).subquery())


def _values(entries, version_id: int, site_ids: frozenset[int] | None):
    """Each stored value with the audit row of its last change (numbered newest first)."""
    changes = (select(AuditEvent.entity_id, AuditEvent.field, AuditEvent.actor_id,
                      AuditEvent.occurred_at, AuditEvent.reason,
                      func.row_number().over(partition_by=(AuditEvent.entity_id,
                                                           AuditEvent.field),
                                             order_by=AuditEvent.id.desc()).label("nth"))
               .where(AuditEvent.entity_type == "crf_entries", AuditEvent.action.in_(CHANGES),
                      AuditEvent.entity_id.in_(_scope(version_id, site_ids))).subquery())
    return (select(entries.c.eid, ItemValue.item_code, ItemValue.value, ItemValue.unit,
                   changes.c.actor_id, changes.c.occurred_at, changes.c.reason,
                   null().label("action"))
            .select_from(entries)
            .join(ItemValue, ItemValue.entry_id == entries.c.eid)
            .outerjoin(changes, and_(changes.c.entity_id == entries.c.eid,
                                     changes.c.field == ItemValue.item_code, changes.c.nth == 1))
            .where(ItemValue.value.is_not(None))
            .order_by(entries.c.pos))  # an instance's values in any order: the form decides


def _changes(entries, version_id: int, site_ids: frozenset[int] | None):
    """Every change of every value, oldest first, as its audit row recorded it."""
    return (select(entries.c.eid, AuditEvent.field.label("item_code"),
                   AuditEvent.new_value.label("value"), null().label("unit"),
                   AuditEvent.actor_id, AuditEvent.occurred_at, AuditEvent.reason,
                   AuditEvent.action)
            .select_from(entries)
            .join(AuditEvent, and_(AuditEvent.entity_type == "crf_entries",
                                   AuditEvent.entity_id == entries.c.eid,
                                   AuditEvent.action.in_(CHANGES)))
            .order_by(entries.c.pos, AuditEvent.id))
