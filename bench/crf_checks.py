"""After each run of the CRF-save benchmark: were the CRFs really saved (entries, each value
as posted and converted, one audit row per value, the hash chain intact from where it was)?
Then everything the run added is removed, so that every run saves the same empty CRFs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.orm import Session

from app.audit.models import AuditChain, AuditEvent
from app.auth.models import AuthSession
from app.crf.models import CrfEntry, ItemValue, shown_value
from app.crf.services import stored_columns
from app.domain.audit import chain_hash
from app.domain.definitions import FormDef
from app.domain.values import parse
from app.queries.models import Query, QueryMessage
from app.signatures.models import Signature
from bench.crf_forms import raw_values

# Children first: the order rows above the floors are deleted in.
TABLES = (QueryMessage, Query, Signature, ItemValue, CrfEntry, AuditEvent, AuthSession)
NANO = Decimal("1e-9")  # item_values.canonical_value keeps nine decimals


@dataclass(frozen=True)
class Floors:
    """The highest id of each table and the chain's head: what lies above is a run's."""

    ids: Mapping[str, int]
    head: str


@dataclass(frozen=True)
class Posted:
    visit_id: int
    user_id: int
    fields: list[tuple[str, str]]


def floors(engine: Engine) -> Floors:
    with engine.connect() as conn:
        ids = {t.__tablename__: conn.scalar(select(func.coalesce(func.max(t.id), 0)))
               for t in TABLES}
        return Floors(ids, conn.scalar(select(AuditChain.last_hash).where(AuditChain.id == 1)))


def check(engine: Engine, base: Floors, form: FormDef, posted: dict[int, Posted],
          saves: int) -> dict[str, int]:
    """Raise AssertionError unless the run stored exactly its `saves` CRFs; a tally."""
    with Session(engine) as session:
        entries = _entries(session, base)
        _expect(len(entries) == saves, f"{len(entries)} CRFs stored, {saves} saves answered")
        values = _check_values(session, base, form, entries, posted)
        audited = _check_audit(session, base, entries, posted, values)
        queries = session.scalar(select(func.count(Query.id))
                                 .where(Query.id > base.ids["queries"]))
    converted = sum(1 for row in values.values() if row["unit"] != row["canonical_unit"]
                    and row["canonical_unit"] is not None)
    return {"CRFs": len(entries), "values": len(values), "converted": converted,
            "audit rows": audited, "queries": queries}


def _expect(condition: bool, problem: str) -> None:
    if not condition:
        raise AssertionError(f"CRF save benchmark: {problem}")


def _entries(session: Session, base: Floors) -> dict[int, int]:
    """entry id → visit id of the CRFs the run created; each saved once (a first save
    inserts the CRF with its values: version 1)."""
    rows = session.execute(select(CrfEntry.id, CrfEntry.visit_id, CrfEntry.version)
                           .where(CrfEntry.id > base.ids["crf_entries"])).all()
    _expect(all(version == 1 for _, _, version in rows), "a CRF was saved more than once")
    return {entry_id: visit_id for entry_id, visit_id, _ in rows}


def _check_values(session: Session, base: Floors, form: FormDef, entries: dict[int, int],
                  posted: dict[int, Posted]) -> dict[tuple[int, str], dict[str, Any]]:
    """Every stored value is what was posted, and its canonical value the converted one."""
    columns = ("value", "unit", "uln", "canonical_value", "canonical_unit")
    rows = session.execute(select(ItemValue.entry_id, ItemValue.item_code,
                                  *(getattr(ItemValue, c) for c in columns))
                           .where(ItemValue.id > base.ids["item_values"])).all()
    stored = {(r[0], r[1]): dict(zip(columns, r[2:], strict=True)) for r in rows}
    expected = {}
    for entry_id, visit_id in entries.items():
        _expect(visit_id in posted, f"visit {visit_id} was saved but not posted")
        for code, cols in _expected_columns(form, posted[visit_id].fields).items():
            expected[(entry_id, code)] = cols
    _expect(set(stored) == set(expected),
            f"{len(stored)} values stored, {len(expected)} posted")
    for key, cols in expected.items():
        _expect(_same(stored[key], cols), f"{key}: stored {stored[key]}, posted {cols}")
    return stored


def _expected_columns(form: FormDef, fields: list[tuple[str, str]]) -> dict[str, dict]:
    raw = raw_values(form, fields)
    return {code: stored_columns(form.items[code], parse(form.items[code], value))
            for code, value in raw.items()}


def _same(stored: Mapping[str, Any], expected: Mapping[str, Any]) -> bool:
    def norm(name: str, value: Any) -> Any:
        if name == "canonical_value" and value is not None:
            return Decimal(value).quantize(NANO, ROUND_HALF_UP)  # as NUMERIC rounds
        return value

    return all(norm(k, stored[k]) == norm(k, v) for k, v in expected.items())


def _check_audit(session: Session, base: Floors, entries: dict[int, int],
                 posted: dict[int, Posted], values: dict[tuple[int, str], dict]) -> int:
    """One "enter" row per stored value, by the poster; the chain continues from the floor."""
    rows = session.scalars(select(AuditEvent).where(AuditEvent.id > base.ids["audit_events"])
                           .order_by(AuditEvent.id)).all()
    previous = base.head
    for row in rows:
        _expect(row.prev_hash == previous, f"audit row {row.id} does not link to the one before")
        _expect(chain_hash(row.prev_hash, row.chained_fields()) == row.row_hash,
                f"audit row {row.id} does not match its hash")
        previous = row.row_hash
    head = session.scalar(select(AuditChain.last_hash).where(AuditChain.id == 1))
    _expect(head == previous, "the chain's head is not its last row")
    seen = {(r.entity_id, r.field): r for r in rows}
    _expect(len(seen) == len(rows) == len(values), f"{len(rows)} audit rows, {len(values)} values")
    for (entry_id, code), cols in values.items():
        row = seen.get((entry_id, code))
        _expect(row is not None and row.action == "enter"
                and row.actor_id == posted[entries[entry_id]].user_id
                and row.new_value == shown_value(cols["value"], cols["unit"], cols["uln"]),
                f"CRF {entry_id}, {code}: no matching audit row")
    return len(rows)


def restore(engine: Engine, base: Floors, vacuum: bool = False) -> None:
    """Remove every row above the floors and put the chain's head back (not timed)."""
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(delete(table).where(table.id > base.ids[table.__tablename__]))
        conn.execute(update(AuditChain).where(AuditChain.id == 1).values(last_hash=base.head))
    if vacuum and engine.dialect.name == "postgresql":
        names = ", ".join(t.__tablename__ for t in TABLES)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"VACUUM ANALYZE {names}, audit_chain"))
