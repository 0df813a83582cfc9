"""CRF data for done visits: the forms each visit asks for, filled in the site's units, with
the audit trail rows the application would have written (hash-chained, in id order).

Values are drawn from pools made by the application's own parser and unit conversion, so a
stored value, its canonical value in the protocol's unit and its audit text are exactly what
a save through the browser would have stored.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from app.crf.models import shown_value
from app.crf.services import stored_columns
from app.domain.audit import chain_hash
from app.domain.definitions import FormDef, Item, ItemType
from app.domain.units import convert
from app.domain.values import parse
from bench.histories import Ids, Life, at_site

ENTRY_COLUMNS = ("id", "site_id", "protocol_version_id", "form_code", "participant_id",
                 "visit_id", "sequence", "created_at", "updated_at", "version")
VALUE_COLUMNS = ("id", "entry_id", "item_code", "value", "unit", "uln", "canonical_value",
                 "canonical_unit")
AUDIT_COLUMNS = ("id", "occurred_at", "actor_id", "action", "entity_type", "entity_id",
                 "site_id", "field", "old_value", "new_value", "reason", "prev_hash", "row_hash")
POOL = 48  # distinct values per item and unit
REPEATING_SHARE = 0.15  # visits with an adverse event (or a medication) recorded


@dataclass(frozen=True)
class Stored:
    columns: tuple  # value, unit, uln, canonical_value, canonical_unit
    shown: str | None  # the audit trail's text


class Chain:
    """The audit trail's hash chain, continued from its head row."""

    def __init__(self, head: str) -> None:
        self.head = head

    def link(self, row: tuple) -> tuple:
        """`row` is AUDIT_COLUMNS without the two hashes."""
        row_hash = chain_hash(self.head, row[1:])
        linked = (*row, self.head, row_hash)
        self.head = row_hash
        return linked


class Pools:
    """Typed values per (form, item, unit), parsed and converted by the application."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._pools: dict[tuple[str, str, str | None], list[Stored]] = {}

    def pick(self, form: FormDef, item: Item, unit: str | None) -> Stored:
        key = (form.code, item.code, unit)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = [self._make(item, unit) for _ in range(POOL)]
        return self.rng.choice(pool)

    def _make(self, item: Item, unit: str | None) -> Stored:
        value = parse(item, self._raw(item, unit))
        cols = stored_columns(item, value)
        return Stored((cols["value"], cols["unit"], cols["uln"], cols["canonical_value"],
                       cols["canonical_unit"]), shown_value(cols["value"], cols["unit"],
                                                            cols["uln"]))

    def _raw(self, item: Item, unit: str | None) -> object:
        rng, kind = self.rng, item.type
        if kind is ItemType.QUANTITY:
            return {"value": self._typed_number(item, unit), "unit": unit,
                    "uln": "40" if item.uln else None}
        if kind in (ItemType.INTEGER, ItemType.DECIMAL):
            low, high = _bounds(item)
            number = Decimal(str(rng.uniform(float(low), float(high))))
            return str(int(number)) if kind is ItemType.INTEGER else f"{number:.1f}"
        if kind is ItemType.BOOLEAN:
            return "yes" if rng.random() < 0.1 else "no"
        if kind is ItemType.CHOICE:
            return rng.choice(item.codelist)[0]
        if kind is ItemType.DATE:
            return (date(2025, 1, 1) + timedelta(days=rng.randrange(700))).isoformat()
        if kind is ItemType.TITRE:
            return f"1:{rng.choice((40, 80, 160, 320))}"
        return rng.choice(("Headache, resolved", "Mild nausea", "None reported",
                           "Fatigue after infusion"))

    def _typed_number(self, item: Item, unit: str | None) -> str:
        """A plausible value in the protocol's unit, as the lab prints it in `unit`."""
        low, high = _bounds(item)
        protocol_value = Decimal(str(self.rng.uniform(float(low), float(high))))
        shown = convert(protocol_value, item.unit, unit, item.code) if unit != item.unit \
            else protocol_value
        return f"{shown:.3g}" if abs(shown) < 1000 else str(int(shown))


def _bounds(item: Item) -> tuple[Decimal, Decimal]:
    """The middle of the soft range (or the hard one): values a normal lab report shows."""
    limits = item.soft or item.hard
    low = limits.low if limits and limits.low is not None else Decimal(1)
    high = limits.high if limits and limits.high is not None else low + 100
    span = high - low
    return low + span / 4, low + span / 2


def site_unit(item: Item, site_index: int) -> str | None:
    """Each site's lab reports an item in one of its accepted units."""
    if item.type is not ItemType.QUANTITY:
        return None
    return item.units[site_index % len(item.units)]


class Filler:
    """Entries, values and audit rows for every done visit of one participant."""

    def __init__(self, pools: Pools, ids: Ids, chain: Chain, coordinators: dict[int, int],
                 site_index: dict[int, int], version_ids: dict[str, int]) -> None:
        self.pools, self.ids, self.chain = pools, ids, chain
        self.coordinators, self.site_index, self.version_ids = coordinators, site_index, \
            version_ids
        self.entries: list[tuple] = []
        self.values: list[tuple] = []
        self.audit: list[tuple] = []

    def take(self) -> tuple[list[tuple], list[tuple], list[tuple]]:
        out = (self.entries, self.values, self.audit)
        self.entries, self.values, self.audit = [], [], []
        return out

    def fill(self, life: Life, forms: dict[str, FormDef]) -> None:
        rng = self.pools.rng
        for done in life.done:
            self._visit_date(life, done.visit_id, done.actual)
            for code in done.forms:
                form = forms[code]
                if form.repeating and rng.random() >= REPEATING_SHARE:
                    continue
                self._entry(life, done.visit_id, done.actual, form)

    def _visit_date(self, life: Life, visit_id: int, actual: date) -> None:
        when = at_site(life.site, actual, 11)
        self.audit.append(self.chain.link((
            self.ids.take("audit_events"), when, self.coordinators[life.site.id], "update",
            "visits", visit_id, life.site.id, "actual_date", None, actual.isoformat(), None)))

    def _entry(self, life: Life, visit_id: int, actual: date, form: FormDef) -> None:
        site = life.site
        entry_id = self.ids.take("crf_entries")
        saved = at_site(site, actual, 12)
        actor = self.coordinators[site.id]
        self.entries.append((entry_id, site.id, self.version_ids[life.study], form.code,
                             life.participant_id, visit_id, 1, saved, saved, 2))
        index = self.site_index[site.id]
        for item in form.items.values():
            if item.derived is not None:
                continue
            stored = self.pools.pick(form, item, site_unit(item, index))
            self.values.append((self.ids.take("item_values"), entry_id, item.code,
                                *stored.columns))
            self.audit.append(self.chain.link((
                self.ids.take("audit_events"), saved, actor, "enter", "crf_entries", entry_id,
                site.id, item.code, None, stored.shown, None)))
