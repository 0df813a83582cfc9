"""Reads `schedules/` and `forms/` into frozen definitions, reporting every error found.

Each error names the file, the path inside it and the field, so that whoever wrote the
definition can find the line. Parsing works on plain data (the YAML documents), so a stored
protocol version is rebuilt from its stored documents, never from today's files.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from app.domain import rules as r
from app.domain.definitions import (
    Choice,
    Criterion,
    CriterionKind,
    FormDef,
    Item,
    ItemType,
    Protocol,
    Randomization,
    Range,
    Section,
    StudyDef,
)
from app.domain.schedule import (
    AnchorDef,
    AnchorKind,
    Schedule,
    VisitDef,
    anchor_dates,
    expand_repeat,
)
from app.domain.units import UnitError, convert, is_known, to_decimal

FORMAT = 1
CODE = re.compile(r"^[A-Z][A-Z0-9_-]*$")
# derivation -> its parameters that name items (sum: every key names an item)
DERIVATIONS: dict[str, tuple[str, ...] | None] = {
    "age_years": ("birth", "at"), "dose": ("weight",), "percent_difference": ("actual", "planned"),
    "sum": None,
}
DERIVATION_PARAMS = {"age_years": {"birth", "at"}, "dose": {"per_kg", "weight", "unit"},
                     "percent_difference": {"actual", "planned"}}


@dataclass(frozen=True)
class DefinitionError:
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}" if self.path else \
            f"{self.file}: {self.message}"


class DefinitionInvalid(Exception):
    def __init__(self, errors: list[DefinitionError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


class _Doc:
    """One YAML document being read; collects errors with their path instead of stopping."""

    def __init__(self, file: str, data: Any) -> None:
        self.file, self.data, self.errors = file, data, []

    def error(self, path: str, message: str) -> None:
        self.errors.append(DefinitionError(self.file, path, message))

    def get(self, node: Any, path: str, key: str, kind: type | tuple = str,
            required: bool = True, default: Any = None) -> Any:
        if not isinstance(node, dict):
            self.error(path, "expected a mapping")
            return default
        if key not in node or node[key] is None:
            if required:
                self.error(_join(path, key), "required field is missing")
            return default
        value = node[key]
        if kind is Decimal:
            return self.number(value, _join(path, key), default)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.error(_join(path, key), f"expected {_kind_name(kind)}, got {value!r}")
            return default
        return value

    def number(self, value: Any, path: str, default: Any = None) -> Decimal | None:
        try:
            if isinstance(value, bool):
                raise UnitError("a yes/no is not a number")
            return to_decimal(value)
        except UnitError:
            self.error(path, f"expected a number, got {value!r}")
            return default

    def code(self, node: Any, path: str, key: str = "code") -> str:
        value = self.get(node, path, key, str, default="?")
        if value != "?" and not CODE.match(value):
            self.error(_join(path, key), f"{value!r}: use upper-case letters, digits, - and _")
        return value

    def unknown_keys(self, node: Any, path: str, allowed: set[str]) -> None:
        if isinstance(node, dict):
            for key in sorted(set(node) - allowed):
                known = ", ".join(sorted(allowed))
                self.error(_join(path, key), f"unknown field (allowed: {known})")


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _kind_name(kind: type | tuple) -> str:
    names = {str: "text", int: "a whole number", list: "a list", dict: "a mapping",
             bool: "true or false"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _list(doc: _Doc, node: Any, path: str, key: str, required: bool = True) -> list:
    return doc.get(node, path, key, list, required=required, default=[]) or []


# --- rules -----------------------------------------------------------------------------------

RULE_KEYS = {
    "is": {"item", "is"}, "in": {"item", "in"},
    "op": {"item", "op", "value", "unit", "times_uln"},
    "within_days": {"item", "within_days", "before"},
    "all": {"all"}, "any": {"any"}, "not": {"not"}, "count": {"count", "at_least"},
}


def parse_rule(doc: _Doc, node: Any, path: str) -> r.Rule | None:
    if not isinstance(node, dict):
        doc.error(path, "expected a rule (a mapping)")
        return None
    kind = next((k for k in ("all", "any", "not", "count", "within_days", "op", "is", "in")
                 if k in node), None)
    if kind is None:
        doc.error(path, f"not a rule: needs one of {', '.join(RULE_KEYS)}")
        return None
    doc.unknown_keys(node, path, RULE_KEYS[kind])
    return _RULE_PARSERS[kind](doc, node, path)


def _children(doc: _Doc, node: dict, path: str, key: str) -> tuple[r.Rule, ...]:
    raw = doc.get(node, path, key, list, default=[])
    if raw == []:
        doc.error(_join(path, key), "expected a non-empty list of rules")
    return tuple(c for i, sub in enumerate(raw or [])
                 if (c := parse_rule(doc, sub, _join(_join(path, key), i))) is not None)


def _rule_op(doc: _Doc, node: dict, path: str) -> r.Rule | None:
    item, op = doc.get(node, path, "item"), doc.get(node, path, "op")
    if op is not None and op not in r.OPS:
        doc.error(_join(path, "op"), f"unknown operator {op!r} (use one of {', '.join(r.OPS)})")
    if "times_uln" in node:
        return r.Compare(item, op, times_uln=doc.get(node, path, "times_uln", Decimal))
    raw = node.get("value")
    if isinstance(raw, str) and raw.strip().startswith("1:"):
        return r.Compare(item, op, value=Decimal(raw.split(":")[1]), titre=True)
    unit = doc.get(node, path, "unit", required=False)
    if unit is not None and not is_known(unit):
        doc.error(_join(path, "unit"), f"unknown unit {unit!r}")
    return r.Compare(item, op, value=doc.get(node, path, "value", Decimal), unit=unit)


_RULE_PARSERS: dict[str, Callable[[_Doc, dict, str], r.Rule | None]] = {
    "is": lambda d, n, p: r.Is(d.get(n, p, "item"), n.get("is")),
    "in": lambda d, n, p: r.In(d.get(n, p, "item"),
                               tuple(str(v) for v in d.get(n, p, "in", list, default=[]))),
    "op": _rule_op,
    "within_days": lambda d, n, p: r.Within(d.get(n, p, "item"), d.get(n, p, "within_days", int,
                                                                       default=0),
                                            d.get(n, p, "before")),
    "all": lambda d, n, p: r.All(_children(d, n, p, "all")),
    "any": lambda d, n, p: r.AnyOf(_children(d, n, p, "any")),
    "not": lambda d, n, p: (lambda c: r.Not(c) if c else None)(parse_rule(d, n.get("not"),
                                                                          _join(p, "not"))),
    "count": lambda d, n, p: r.Count(_children(d, n, p, "count"),
                                     d.get(n, p, "at_least", int, default=1)),
}


# --- forms -----------------------------------------------------------------------------------

ITEM_KEYS = {"code", "label", "type", "required", "unit", "units", "codelist", "range", "uln",
             "judgement", "identifying", "derived", "show_if", "help"}


def _range(doc: _Doc, node: Any, path: str, key: str) -> Range | None:
    raw = node.get(key)
    if raw is None:
        return None
    if not (isinstance(raw, list) and len(raw) == 2):
        doc.error(_join(path, key), "expected [low, high] (use null for no limit)")
        return None
    low, high = (None if v is None else doc.number(v, _join(path, key)) for v in raw)
    return Range(low, high)


def parse_item(doc: _Doc, node: Any, path: str) -> Item | None:
    doc.unknown_keys(node, path, ITEM_KEYS)
    code, label = doc.code(node, path), doc.get(node, path, "label")
    type_name = doc.get(node, path, "type", default="text")
    if type_name not in ItemType.__members__.values():
        doc.error(_join(path, "type"), f"unknown type {type_name!r} "
                  f"(use one of {', '.join(t.value for t in ItemType)})")
        return None
    item_type = ItemType(type_name)
    unit, units = doc.get(node, path, "unit", required=item_type is ItemType.QUANTITY), ()
    if item_type is ItemType.QUANTITY:
        units = tuple(doc.get(node, path, "units", list, required=False, default=[unit]) or ())
        _check_units(doc, path, unit, units, code)
    ranges = node.get("range") or {} if isinstance(node, dict) else {}
    codelist = doc.get(node, path, "codelist", dict, required=item_type is ItemType.CHOICE,
                       default={})
    return Item(
        code=code, label=label or code, type=item_type,
        required=bool(node.get("required", False)), unit=unit, units=units,
        codelist=tuple((str(k), str(v)) for k, v in (codelist or {}).items()),
        hard=_range(doc, ranges, _join(path, "range"), "hard"),
        soft=_range(doc, ranges, _join(path, "range"), "soft"),
        uln=bool(node.get("uln", False)), judgement=bool(node.get("judgement", False)),
        identifying=bool(node.get("identifying", False)),
        derived=_derived(doc, node, path), help=node.get("help"),
        show_if=parse_rule(doc, node["show_if"], _join(path, "show_if"))
        if node.get("show_if") is not None else None,
    )


def _check_units(doc: _Doc, path: str, unit: str | None, units: tuple, code: str) -> None:
    for i, name in enumerate((unit, *units)):
        where = _join(path, "unit") if i == 0 else _join(_join(path, "units"), i - 1)
        if name is None:
            continue
        if not is_known(name):
            doc.error(where, f"unknown unit {name!r}")
        elif unit and is_known(unit):
            try:
                convert(Decimal(1), name, unit, code)
            except UnitError as exc:
                doc.error(where, str(exc))


def _derived(doc: _Doc, node: dict, path: str) -> tuple | None:
    raw = node.get("derived")
    if raw is None:
        return None
    if not (isinstance(raw, dict) and len(raw) == 1 and next(iter(raw)) in DERIVATIONS):
        doc.error(_join(path, "derived"), f"expected one of: {', '.join(DERIVATIONS)}")
        return None
    kind, params = next(iter(raw.items()))
    where = _join(_join(path, "derived"), kind)
    if not isinstance(params, dict) or not params:
        doc.error(where, "expected a mapping of parameters")
        return None
    missing = DERIVATION_PARAMS.get(kind, set()) - set(params)
    if missing:
        doc.error(where, f"needs {', '.join(sorted(missing))}")
        return None
    if kind == "sum" and not all(isinstance(w, int) for w in params.values()):
        doc.error(where, "weights must be whole numbers")
        return None
    if kind == "dose" and doc.number(params["per_kg"], _join(where, "per_kg")) is None:
        return None
    return kind, tuple((str(k), str(v)) for k, v in params.items())


def derived_refs(derived: tuple) -> list[str]:
    kind, params = derived
    names = DERIVATIONS[kind]
    return [k for k, _ in params] if names is None else [v for k, v in params if k in names]


def parse_form(doc: _Doc) -> FormDef | None:
    data = doc.data
    doc.unknown_keys(data, "", {"format", "form", "sections", "criteria"})
    _check_format(doc)
    head = doc.get(data, "", "form", dict, default={})
    doc.unknown_keys(head, "form", {"code", "title", "study", "repeating"})
    sections = []
    for i, raw in enumerate(_list(doc, data, "", "sections")):
        spath = f"sections[{i}]"
        items = [it for j, node in enumerate(_list(doc, raw, spath, "items"))
                 if (it := parse_item(doc, node, f"{spath}.items[{j}]")) is not None]
        sections.append(Section(doc.get(raw, spath, "title", default=""), tuple(items)))
    criteria = [c for i, node in enumerate(_list(doc, data, "", "criteria", required=False))
                if (c := _criterion(doc, node, f"criteria[{i}]")) is not None]
    form = FormDef(code=doc.code(head, "form"), title=doc.get(head, "form", "title", default=""),
                   study=doc.get(head, "form", "study", required=False),
                   sections=tuple(sections), criteria=tuple(criteria), source=doc.file,
                   repeating=bool(head.get("repeating", False)) if isinstance(head, dict)
                   else False)
    _check_form_references(doc, form)
    return form


def _criterion(doc: _Doc, node: Any, path: str) -> Criterion | None:
    doc.unknown_keys(node, path, {"id", "kind", "text", "rule", "subgroups"})
    kind = doc.get(node, path, "kind", default="inclusion")
    if kind not in ("inclusion", "exclusion"):
        doc.error(_join(path, "kind"), f"{kind!r}: use inclusion or exclusion")
        kind = "inclusion"
    rule = parse_rule(doc, node.get("rule") if isinstance(node, dict) else None,
                      _join(path, "rule"))
    if rule is None:
        return None
    return Criterion(id=str(doc.get(node, path, "id", (str, int), default="?")),
                     kind=CriterionKind(kind), text=doc.get(node, path, "text", default=""),
                     rule=rule,
                     subgroups=tuple(doc.get(node, path, "subgroups", list, required=False,
                                             default=[]) or ()))


def _check_form_references(doc: _Doc, form: FormDef) -> None:
    items = form.items
    seen: set[str] = set()
    for s, section in enumerate(form.sections):
        for j, item in enumerate(section.items):
            path = f"sections[{s}].items[{j}]"
            if item.code in seen:
                doc.error(_join(path, "code"), f"item {item.code} is defined twice")
            seen.add(item.code)
            if item.show_if is not None:
                _check_rule_items(doc, item.show_if, items, _join(path, "show_if"))
            for ref in derived_refs(item.derived) if item.derived else ():
                if ref not in items:
                    doc.error(_join(path, "derived"), f"unknown item {ref}")
    ids: set[str] = set()
    for i, criterion in enumerate(form.criteria):
        if criterion.id in ids:
            doc.error(f"criteria[{i}].id", f"criterion {criterion.id} is defined twice")
        ids.add(criterion.id)
        _check_rule_items(doc, criterion.rule, items, f"criteria[{i}].rule")


def _check_rule_items(doc: _Doc, rule: r.Rule, items: dict[str, Item], path: str) -> None:
    for node in r.walk(rule):
        if not isinstance(node, r.LEAVES):
            continue
        item = items.get(node.item)
        if item is None:
            doc.error(_join(path, "item"), f"unknown item {node.item}")
        else:
            _check_leaf(doc, node, item, items, path)


def _check_leaf(doc: _Doc, node: r.Rule, item: Item, items: dict[str, Item], path: str) -> None:
    if isinstance(node, r.Compare):
        if node.times_uln is not None and not item.uln:
            doc.error(_join(path, "times_uln"), f"item {item.code} has no uln: true")
        if node.titre and item.type is not ItemType.TITRE:
            doc.error(_join(path, "value"), f"item {item.code} is not a titre")
        if node.unit and item.unit:
            try:
                convert(Decimal(1), item.unit, node.unit, item.code)
            except UnitError as exc:
                doc.error(_join(path, "unit"), str(exc))
        if item.type in (ItemType.BOOLEAN, ItemType.CHOICE, ItemType.TEXT, ItemType.DATE):
            doc.error(_join(path, "op"), f"item {item.code} ({item.type.value}) is not a number")
    if isinstance(node, r.In) and item.type is ItemType.CHOICE:
        unknown = set(node.values) - {c for c, _ in item.codelist}
        if unknown:
            doc.error(_join(path, "in"), f"not codes of {item.code}: {', '.join(sorted(unknown))}")
    if isinstance(node, r.Within):
        for code in (node.item, node.before):
            target = items.get(code)
            if target is None:
                doc.error(_join(path, "before"), f"unknown item {code}")
            elif target.type is not ItemType.DATE:
                doc.error(path, f"item {code} is not a date")


def _check_format(doc: _Doc) -> None:
    version = doc.get(doc.data, "", "format", int, default=FORMAT)
    if version != FORMAT:
        doc.error("format", f"format {version} is not supported (this version reads {FORMAT})")


# --- studies ---------------------------------------------------------------------------------

STUDY_KEYS = {"format", "study", "screening_form", "subgroups", "arms", "randomization",
              "anchors", "visits"}


def _choices(doc: _Doc, key: str, required: bool) -> tuple[Choice, ...]:
    return tuple(Choice(doc.code(node, f"{key}[{i}]"), doc.get(node, f"{key}[{i}]", "name"))
                 for i, node in enumerate(_list(doc, doc.data, "", key, required)))


def parse_study(doc: _Doc) -> StudyDef:
    data = doc.data
    doc.unknown_keys(data, "", STUDY_KEYS)
    _check_format(doc)
    head = doc.get(data, "", "study", dict, default={})
    doc.unknown_keys(head, "study", {"code", "title", "registry_id", "phase",
                                     "target_enrollment", "source"})
    arms = _choices(doc, "arms", True)
    study = StudyDef(
        code=doc.code(head, "study"), title=doc.get(head, "study", "title", default=""),
        screening_form=doc.get(data, "", "screening_form", default="?"),
        arms=arms, subgroups=_choices(doc, "subgroups", False),
        registry_id=doc.get(head, "study", "registry_id", required=False),
        phase=str(head.get("phase")) if isinstance(head, dict) and head.get("phase") else None,
        target_enrollment=doc.get(head, "study", "target_enrollment", int, required=False),
        randomization=_randomization(doc, arms), source=doc.file,
        schedule=_schedule(doc),
    )
    return study


# --- schedules -------------------------------------------------------------------------------

VISIT_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")


def _schedule(doc: _Doc) -> Schedule:
    anchors = tuple(a for i, node in enumerate(_list(doc, doc.data, "", "anchors", False))
                    if (a := _anchor(doc, node, f"anchors[{i}]")) is not None)
    visits: list[VisitDef] = []
    for i, node in enumerate(_list(doc, doc.data, "", "visits", False)):
        visits += _visits(doc, node, f"visits[{i}]")
    schedule = Schedule(anchors, tuple(visits))
    _check_schedule(doc, schedule)
    return schedule


def _anchor(doc: _Doc, node: Any, path: str) -> AnchorDef | None:
    doc.unknown_keys(node, path, {"code", "name", "kind", "planned"})
    kind = doc.get(node, path, "kind", default="event")
    if kind not in AnchorKind.__members__.values():
        doc.error(_join(path, "kind"), f"{kind!r}: use enrollment, randomization or event")
        return None
    planned = node.get("planned") if isinstance(node, dict) else None
    if AnchorKind(kind) is AnchorKind.EVENT and planned is None:
        doc.error(_join(path, "planned"), "an event needs {anchor, offset} to be planned from")
    planned = planned or {}
    return AnchorDef(doc.code(node, path), doc.get(node, path, "name", default=""),
                     AnchorKind(kind), doc.get(planned, _join(path, "planned"), "anchor",
                                               required=bool(planned)),
                     doc.get(planned, _join(path, "planned"), "offset", int,
                             required=bool(planned), default=0))


VISIT_KEYS = {"code", "name", "anchor", "offset", "repeat", "window", "forms", "records", "safety"}


def _visits(doc: _Doc, node: Any, path: str) -> list[VisitDef]:
    doc.unknown_keys(node, path, VISIT_KEYS)
    code, name = doc.get(node, path, "code", default="?"), doc.get(node, path, "name", default="")
    window = doc.get(node, path, "window", dict, default={}) or {}
    doc.unknown_keys(window, _join(path, "window"), {"before", "after", "ours"})
    common = {
        "anchor": doc.get(node, path, "anchor", default="?"),
        "before": doc.get(window, _join(path, "window"), "before", int, default=0),
        "after": doc.get(window, _join(path, "window"), "after", int, default=0),
        "window_ours": bool(window.get("ours", False)),
        "forms": tuple(doc.get(node, path, "forms", list, required=False, default=[]) or ()),
        "records": doc.get(node, path, "records", required=False),
        "safety": bool(node.get("safety", False)) if isinstance(node, dict) else False,
    }
    repeat = node.get("repeat") if isinstance(node, dict) else None
    if repeat is None:
        return [VisitDef(code, name, offset=doc.get(node, path, "offset", int, default=0),
                         **common)]
    rpath = _join(path, "repeat")
    doc.unknown_keys(repeat, rpath, {"start", "every", "until"})
    start, every, until = (doc.get(repeat, rpath, key, int, default=1)
                           for key in ("start", "every", "until"))
    if every < 1 or until < start:
        doc.error(rpath, "needs every ≥ 1 and until ≥ start")
        return []
    try:
        expanded = expand_repeat(code, name, start, every, until)
    except (KeyError, IndexError, ValueError) as exc:
        doc.error(_join(path, "code"), f"unknown placeholder {exc} (use day, week, month, n)")
        return []
    return [VisitDef(c, n, offset=o, **common) for c, n, o in expanded]


def _check_schedule(doc: _Doc, schedule: Schedule) -> None:
    codes = [a.code for a in schedule.anchors]
    for i, anchor in enumerate(schedule.anchors):
        if codes.count(anchor.code) > 1:
            doc.error(f"anchors[{i}].code", f"anchor {anchor.code} is defined twice")
        if anchor.planned_from is not None and anchor.planned_from not in codes:
            doc.error(f"anchors[{i}].planned.anchor", f"unknown anchor {anchor.planned_from}")
    if schedule.anchors and not any(a.planned_from is None for a in schedule.anchors):
        doc.error("anchors", "one anchor (enrollment or randomization) must be the start")
    events = {a.code for a in schedule.anchors if a.kind is AnchorKind.EVENT}
    seen: set[str] = set()
    for visit in schedule.visits:
        where = f"visits[{visit.code}]"
        if not VISIT_CODE.match(visit.code):
            doc.error(f"{where}.code", "use upper-case letters, digits and _")
        if visit.code in seen:
            doc.error(f"{where}.code", f"visit {visit.code} is defined twice")
        seen.add(visit.code)
        if visit.anchor not in codes:
            doc.error(f"{where}.anchor", f"unknown anchor {visit.anchor}")
        if visit.records is not None and visit.records not in events:
            doc.error(f"{where}.records", f"{visit.records} is not an event anchor")
        if visit.before < 0 or visit.after < 0:
            doc.error(f"{where}.window", "before and after are days ≥ 0")


def _randomization(doc: _Doc, arms: tuple[Choice, ...]) -> Randomization | None:
    node = doc.data.get("randomization") if isinstance(doc.data, dict) else None
    if node is None:
        return None
    path = "randomization"
    doc.unknown_keys(node, path, {"ratio", "block_sizes", "stratify_by"})
    ratio = doc.get(node, path, "ratio", dict, default={}) or {}
    arm_codes = {a.code for a in arms}
    for code, weight in ratio.items():
        if code not in arm_codes:
            doc.error(f"{path}.ratio.{code}", "not an arm of this study")
        if not isinstance(weight, int) or weight < 1:
            doc.error(f"{path}.ratio.{code}", "expected a whole number ≥ 1")
    blocks = doc.get(node, path, "block_sizes", list, default=[]) or []
    total = sum(w for w in ratio.values() if isinstance(w, int)) or 1
    for i, size in enumerate(blocks):
        if not isinstance(size, int) or size % total:
            doc.error(f"{path}.block_sizes[{i}]", f"{size!r} is not a multiple of {total}")
    factors = doc.get(node, path, "stratify_by", list, required=False, default=["site"]) or []
    for i, factor in enumerate(factors):
        if factor != "site":
            doc.error(f"{path}.stratify_by[{i}]", f"{factor!r}: only 'site' is supported")
    return Randomization(tuple((str(k), int(v)) for k, v in ratio.items()
                               if isinstance(v, int)),
                         tuple(b for b in blocks if isinstance(b, int)), tuple(factors))


def _check_study_references(doc: _Doc, study: StudyDef, forms: dict[str, FormDef]) -> None:
    for visit in study.schedule.visits:
        for code in visit.forms:
            if code not in forms:
                doc.error(f"visits[{visit.code}].forms", f"no form {code} in forms/")
    try:
        if study.schedule.anchors:
            anchor_dates(study.schedule, date(2000, 1, 1), {})
    except ValueError as exc:
        doc.error("anchors", str(exc))
    screening = forms.get(study.screening_form)
    if screening is None:
        doc.error("screening_form", f"no form {study.screening_form} in forms/")
        return
    subgroup_codes = {s.code for s in study.subgroups}
    for i, criterion in enumerate(screening.criteria):
        for code in criterion.subgroups:
            if code not in subgroup_codes:
                doc.errors.append(DefinitionError(
                    screening.source, f"criteria[{i}].subgroups",
                    f"{code} is not a sub-group of {study.code}"))


# --- building protocols ----------------------------------------------------------------------

def content_hash(documents: dict[str, Any]) -> str:
    canonical = json.dumps(documents, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def build(documents: dict[str, Any]) -> Protocol:
    """A protocol from its documents: {file name: parsed YAML}, one study file and its forms."""
    errors: list[DefinitionError] = []
    forms: dict[str, FormDef] = {}
    study_doc: _Doc | None = None
    for name, data in sorted(documents.items()):
        doc = _Doc(name, data)
        if name.startswith("schedules/"):
            study_doc = doc
            continue
        form = parse_form(doc)
        errors += doc.errors
        if form is not None:
            forms[form.code] = form
    if study_doc is None:
        raise DefinitionInvalid([DefinitionError("schedules/", "", "no study file")])
    study = parse_study(study_doc)
    _check_study_references(study_doc, study, forms)
    errors = study_doc.errors + errors
    if errors:
        raise DefinitionInvalid(errors)
    return Protocol(study, forms, content_hash(documents), documents)


def read_yaml(path: Path, label: str) -> tuple[Any, list[DefinitionError]]:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")), []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return None, [DefinitionError(label, where, f"not valid YAML: {exc}")]


def discover(schedules_dir: Path, forms_dir: Path) -> tuple[list[dict[str, Any]],
                                                            list[DefinitionError]]:
    """Group the files into one document set per study (its study file and its forms)."""
    errors: list[DefinitionError] = []
    forms: dict[str, tuple[str, Any]] = {}
    for path in sorted(forms_dir.glob("*.yaml")):
        label = f"forms/{path.name}"
        data, errs = read_yaml(path, label)
        errors += errs
        if isinstance(data, dict):
            code = (data.get("form") or {}).get("code") if isinstance(data.get("form"), dict) \
                else None
            forms[str(code)] = (label, data)
    sets = []
    for path in sorted(schedules_dir.glob("*.yaml")):
        label = f"schedules/{path.name}"
        data, errs = read_yaml(path, label)
        errors += errs
        if not isinstance(data, dict):
            continue
        code = (data.get("study") or {}).get("code") if isinstance(data.get("study"), dict) \
            else None
        documents = {label: data}
        for form_label, form in forms.values():
            head = form.get("form") if isinstance(form.get("form"), dict) else {}
            if head.get("study") in (None, code) and _used_by(data, head.get("code")):
                documents[form_label] = form
        sets.append(documents)
    return sets, errors


def _used_by(study: dict, form_code: Any) -> bool:
    if study.get("screening_form") == form_code:
        return True
    return any(form_code in (visit.get("forms") or []) for visit in study.get("visits") or []
               if isinstance(visit, dict))


def load_all(schedules_dir: Path, forms_dir: Path) -> tuple[list[Protocol], list[DefinitionError]]:
    sets, errors = discover(schedules_dir, forms_dir)
    protocols = []
    for documents in sets:
        try:
            protocols.append(build(documents))
        except DefinitionInvalid as exc:
            errors += exc.errors
    return protocols, errors
