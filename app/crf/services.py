"""Saving CRF values: as entered, in the protocol's unit, and audited item by item."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.audit import services as audit
from app.auth.models import User
from app.bulk import insert_rows
from app.crf.models import CrfEntry, ItemValue, shown_value
from app.domain.audit import FieldChange
from app.domain.definitions import FormDef, Item
from app.domain.rules import Quantity
from app.domain.values import Entry, canonical, parse_all
from app.locks import services as locks
from app.model_base import utcnow
from app.queries import services as queries
from app.signatures import services as signatures


@dataclass(frozen=True)
class SaveResult:
    entry: Entry  # typed values and the problems found
    changes: list[FieldChange]


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def stored_columns(item: Item, value: Any) -> dict[str, Any]:
    """The columns of an ItemValue for a typed value."""
    if isinstance(value, Quantity):
        return {"value": _as_text(value.value), "unit": value.unit, "uln": _as_text(value.uln),
                "canonical_value": canonical(item, value), "canonical_unit": item.unit}
    if item.type.value == "titre" and value is not None:
        return {"value": f"1:{value}", "unit": None, "uln": None, "canonical_value": value,
                "canonical_unit": None}
    return {"value": _as_text(value), "unit": None, "uln": None,
            "canonical_value": canonical(item, value), "canonical_unit": None}


def typed_values(form: FormDef, entry: CrfEntry) -> Entry:
    return parse_all(form, entry.raw_values())


def save(session: Session, crf: CrfEntry, form: FormDef, raw: Mapping[str, Any], *,
         actor: User, reason: str | None, expected_version: int | None = None,
         parsed: Entry | None = None, created: bool = False) -> SaveResult:
    """Save every value that parses; report the others. Changing a saved value needs a reason.

    `parsed` is `parse_all(form, raw)` when the caller has it already (a validated form);
    `created` says the CRF was inserted in this transaction, so no query is on it yet.

    Raises ConflictError if someone saved this CRF since `expected_version`, Locked if a
    lock covers it, and ReasonRequired (saving nothing) if a saved value would change
    without a reason. Signatures over changed content are invalidated and values outside
    their soft range open queries, in the same transaction.
    """
    with session.no_autoflush:  # a new CRF is inserted below, with its first values
        locks.ensure_unlocked(session, crf)
    if expected_version is not None and crf.version != expected_version:
        raise audit.ConflictError(crf, expected_version)
    parsed = parsed if parsed is not None else parse_all(form, raw)
    existing = {v.item_code: v for v in crf.values}
    planned = _plan(form, parsed, existing)
    changes = [FieldChange(code, existing[code].shown() if code in existing else None,
                           _shown(cols)) for code, cols in planned]
    # a value saved before, even if cleared since, is changed with a reason
    edits = [c for c in changes if c.field in existing]
    if edits and not (reason and reason.strip()):
        raise audit.ReasonRequired(
            "Give a reason for changing saved values: " + ", ".join(c.field for c in edits))
    added = []
    for code, cols in planned:
        row = existing.get(code)
        if row is None:
            added.append({"item_code": code, **cols})
        else:
            for name, value in cols.items():
                setattr(row, name, value)
    if planned:
        crf.updated_at = utcnow()
    if planned or crf.id is None:  # bumps the version; inserts a new CRF (the same one
        # created by another save meanwhile is a conflict)
        audit.flush_or_conflict(session, crf, expected_version or crf.version or 0)
    if planned:
        _insert_values(session, crf, added)
        _audit(session, crf, changes, set(existing), actor, reason)
        # Flushing audit rows locks the chain head until the commit, and every save waits on
        # that lock: these look-ups must not flush them early (they flush when they must).
        with session.no_autoflush:
            signatures.invalidate_changed(session, crf, actor)
            queries.after_save(session, crf, form, parsed, changes, actor, created=created)
    return SaveResult(parsed, changes)


def _insert_values(session: Session, crf: CrfEntry, rows: list[dict[str, Any]]) -> None:
    """New values in one statement, after the version check: as ORM objects they cost a few
    milliseconds of Python per CRF. `crf.values` is read again when next used."""
    if rows:  # after the flush: a new CRF has its id
        insert_rows(session.connection(), ItemValue.__table__,
                    [{"entry_id": crf.id, **row} for row in rows])
        session.expire(crf, ["values"])


def _plan(form: FormDef, parsed: Entry, existing: dict[str, ItemValue]) -> list[tuple[str, dict]]:
    """Which item values change, and to what; items with problems are left as they were."""
    planned = []
    for code, item in form.items.items():
        if code in parsed.problems or item.derived is not None:
            continue
        cols = stored_columns(item, parsed.values.get(code))
        row = existing.get(code)
        before = row.shown() if row else None
        if (before or None) != (_shown(cols) or None):
            planned.append((code, cols))
    return planned


def _shown(cols: Mapping[str, Any]) -> str | None:
    return shown_value(cols.get("value"), cols.get("unit"), cols.get("uln"))


def _audit(session: Session, crf: CrfEntry, changes: list[FieldChange], saved_before: set[str],
           actor: User, reason: str | None) -> None:
    entered = [c for c in changes if c.field not in saved_before]
    edited = [c for c in changes if c.field in saved_before]
    where = {"entity_type": "crf_entries", "entity_id": crf.id, "site_id": crf.site_id,
             "actor": actor}
    audit.record_changes(session, entered, action="enter", reason=None, **where)
    audit.record_changes(session, edited, action="update", reason=reason, **where)
