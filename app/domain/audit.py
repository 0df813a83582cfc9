"""Field-level differences between two states of a record, for the audit trail."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str | None
    new: str | None


def render(value: Any) -> str | None:
    """The text an inspector reads in the audit trail for a stored value."""
    if value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | float):
        return format(value, "g") if isinstance(value, float) else str(value)
    return str(value)


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[FieldChange]:
    """Changes from `before` to `after`, in a stable order (sorted by field name).

    A field missing on one side counts as None there, so creation is diff({}, state).
    """
    changes = []
    for field in sorted(set(before) | set(after)):
        old, new = render(before.get(field)), render(after.get(field))
        if old != new:
            changes.append(FieldChange(field, old, new))
    return changes


GENESIS = "0" * 64  # the hash before the first row


def chain_hash(previous: str, fields: Sequence[object]) -> str:
    """The hash of one audit row, bound to the row before it: change any row, or delete one,
    and every hash after it stops matching."""
    payload = json.dumps([previous, *[render(f) for f in fields]], separators=(",", ":"),
                         ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def chain_tail(fields: Sequence[object]) -> str:
    """What `chain_hash` hashes after the previous hash: its payload is '["' + previous +
    '",' + this (a hash needs no JSON escaping), so a database can chain rows with it."""
    if not fields:
        raise ValueError("an audit row hashes at least one field")
    return json.dumps([render(f) for f in fields], separators=(",", ":"),
                      ensure_ascii=False)[1:]
