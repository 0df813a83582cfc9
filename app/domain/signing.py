"""What an electronic signature is bound to: a SHA-256 over a canonical form of the content.

The serialisation is independent of row order (items and CRFs are sorted) and of empty items
(an item whose value was cleared hashes like one never entered), so the hash changes exactly
when what a person would read on the signed page changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

# The meanings a signer may choose (21 CFR 11.50: every signature states what it means).
APPROVED = "Reviewed and approved as accurate and complete"
AUTHORED = "Authored: I am responsible for this data"
REVIEWED = "Reviewed (no approval)"
MEANINGS: tuple[str, ...] = (APPROVED, AUTHORED, REVIEWED)

# Bumped if the serialisation ever changes, so old and new hashes can never be confused.
_FORMAT = "signing/v1"


@dataclass(frozen=True)
class ItemContent:
    """One item as stored: the value as typed, the unit chosen and the lab's ULN."""

    code: str
    value: str | None
    unit: str | None = None
    uln: str | None = None

    @property
    def empty(self) -> bool:
        return self.value is None or self.value == ""


@dataclass(frozen=True)
class CrfContent:
    form_code: str
    sequence: int
    items: tuple[ItemContent, ...]

    @property
    def empty(self) -> bool:
        return all(item.empty for item in self.items)


@dataclass(frozen=True)
class VisitContent:
    code: str
    actual_date: date | None
    not_done_reason: str | None
    crfs: tuple[CrfContent, ...]


def _items(items: Iterable[ItemContent]) -> list[list[str | None]]:
    kept = [[i.code, i.value, i.unit, i.uln] for i in items if not i.empty]
    return sorted(kept, key=lambda row: [(part is None, part or "") for part in row])


def _crf(crf: CrfContent) -> dict[str, object]:
    return {"form": crf.form_code, "sequence": crf.sequence, "items": _items(crf.items)}


def _visit(visit: VisitContent) -> dict[str, object]:
    # A CRF opened but never filled is no content: it must not change the visit's hash.
    crfs = sorted((_crf(c) for c in visit.crfs if not c.empty),
                  key=lambda c: (c["form"], c["sequence"]))
    return {"visit": visit.code,
            "actual_date": visit.actual_date.isoformat() if visit.actual_date else None,
            "not_done": visit.not_done_reason, "crfs": crfs}


def _digest(kind: str, body: dict[str, object]) -> str:
    text = json.dumps({"format": _FORMAT, "kind": kind, **body}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def crf_hash(crf: CrfContent) -> str:
    return _digest("crf", _crf(crf))


def visit_hash(visit: VisitContent) -> str:
    return _digest("visit", _visit(visit))
