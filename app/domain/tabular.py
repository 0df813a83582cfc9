"""The shape of the CSV export: which columns a CRF's file has, its rows, the data dictionary.

One file per CRF, one row per CRF instance, and for each item the value and unit as entered
plus the value in the protocol's unit. Personal identifiers are withheld, and derived items
(computed on screen, never stored) are not columns: the dictionary lists both so a reader
knows the column is missing on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from app.domain.csv_cells import ESCAPED_START, neutralise
from app.domain.definitions import FormDef, Item, ItemType

ROW_KEYS = ("STUDYID", "SITEID", "SUBJID", "VISIT", "VISITNAME", "REPEAT", "VERSION",
            "SAVED_UTC")
DICTIONARY_HEADER = ("FORM", "FORM_TITLE", "COLUMN", "ITEM", "LABEL", "TYPE", "UNIT",
                     "UNITS_ACCEPTED", "CODELIST", "HARD_RANGE", "SOFT_RANGE", "REQUIRED",
                     "NOTE")
VISITS_HEADER = ("STUDYID", "SITEID", "SUBJID", "VISIT", "VISITNAME", "ANCHOR", "TARGET",
                 "WINDOW_START", "WINDOW_END", "WINDOW_OURS", "UNSCHEDULED", "ACTUAL",
                 "NOT_DONE_REASON", "STATUS")


@dataclass(frozen=True)
class Column:
    name: str
    item: str  # item code
    part: str  # "value", "unit", "uln" or "std"


def exported_items(form: FormDef) -> list[Item]:
    return [item for item in form.items.values()
            if not item.identifying and item.derived is None]


def columns(form: FormDef) -> list[Column]:
    """The item columns of a CRF's file, in the form's order."""
    out = []
    for item in exported_items(form):
        out.append(Column(item.code, item.code, "value"))
        if item.type is ItemType.QUANTITY:
            out.append(Column(f"{item.code}_UNIT", item.code, "unit"))
            if item.uln:
                out.append(Column(f"{item.code}_ULN", item.code, "uln"))
            out.append(Column(f"{item.code}_STD", item.code, "std"))
    return out


def header(form: FormDef) -> list[str]:
    return [*ROW_KEYS, *(c.name for c in columns(form))]


@dataclass(frozen=True)
class StoredValue:
    value: str | None
    unit: str | None = None
    uln: str | None = None
    canonical: Decimal | None = None


def row(keys: Sequence[object], cols: Sequence[Column],
        values: Mapping[str, StoredValue]) -> list[str]:
    """One CRF instance as cells, each neutralised against spreadsheet formulas."""
    parts = [None if (stored := values.get(col.item)) is None else _part(stored, col.part)
             for col in cols]
    return cells((*keys, *parts))


def cells(values: Iterable[object]) -> list[str]:
    """Values as cells, each neutralised against spreadsheet formulas.

    Inline for the common cells (text that cannot be a formula, empty, integers, which are
    never escaped): an export makes millions of cells, and calls per cell were a large part
    of its time."""
    return [v if type(v) is str and (not v or v[0] not in ESCAPED_START)
            else "" if v is None else str(v) if type(v) is int else neutralise(_text(v))
            for v in values]


def _part(stored: StoredValue, part: str) -> object:
    if part == "std":
        return stored.canonical
    return getattr(stored, part)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bool):
        return "Y" if value else "N"
    return str(value)


def dictionary(forms: Iterable[FormDef]) -> Iterable[list[str]]:
    """The data dictionary: a row per column of every CRF file, and one per withheld item."""
    for form in forms:
        for col in columns(form):
            yield [neutralise(c) for c in _dictionary_row(form, form.items[col.item], col)]
        for item in form.items.values():
            if item.identifying or item.derived is not None:
                yield [neutralise(c) for c in _withheld_row(form, item)]


def _dictionary_row(form: FormDef, item: Item, col: Column) -> list[str]:
    label, unit, note = item.label, item.unit or "", _note(item)
    if col.part == "unit":
        label, unit, note = f"{item.label}: unit as entered", "", "unit chosen at entry"
    elif col.part == "uln":
        label, note = f"{item.label}: lab upper limit of normal", "as printed on the lab report"
    elif col.part == "std":
        label, note = f"{item.label} in {item.unit}", "converted to the protocol's unit"
    elif item.type is ItemType.QUANTITY:
        unit, note = "", "value as entered, in the unit of the _UNIT column"
    return [form.code, form.title, col.name, item.code, label, item.type.value, unit,
            " | ".join(item.units) if col.part == "value" else "",
            _codelist(item) if col.part == "value" else "",
            _range(item.hard), _range(item.soft), "Y" if item.required else "N", note]


def _withheld_row(form: FormDef, item: Item) -> list[str]:
    note = "withheld: personal identifier" if item.identifying else \
        f"not a column: derived ({item.derived[0]}) from " + \
        ", ".join(f"{k}={v}" for k, v in item.derived[1])
    return [form.code, form.title, "", item.code, item.label, item.type.value, item.unit or "",
            "", "", "", "", "Y" if item.required else "N", note]


def _note(item: Item) -> str:
    return "investigator's judgement" if item.judgement else ""


def _codelist(item: Item) -> str:
    return " | ".join(f"{code}={label}" for code, label in item.codelist)


def _range(r) -> str:
    if r is None:
        return ""
    low = "" if r.low is None else format(r.low, "f")
    high = "" if r.high is None else format(r.high, "f")
    return f"{low}..{high}"
