"""FormDefs back into forms/ documents: sections, items, code lists, ranges, rules, criteria."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from app.domain.definitions import ItemType
from app.odm import oids
from app.odm import vocabulary as v
from app.odm.reading import Index, aliases, child, children, ordered, text
from app.odm.schema import where


def form_document(form: ET.Element, ix: Index, criteria: list[dict]) -> dict:
    """One forms/ document (format 1) from a FormDef and the criteria that belong to it."""
    found = aliases(form)
    head: dict[str, Any] = {"code": oids.code_of(form.get("OID", ""), oids.FORM),
                            "title": form.get("Name")}
    if v.STUDY in found:
        head["study"] = found[v.STUDY]
    if form.get("Repeating") == "Yes":
        head["repeating"] = True
    sections = []
    for ref in ordered(children(form, "ItemGroupRef")):
        group = ix.lookup(ref.get("ItemGroupOID"), "ItemGroupDef",
                          f"{where(form)}, ItemGroupRef {ref.get('ItemGroupOID')!r}")
        if group is not None:
            sections.append({"title": group.get("Name"), "items": _items(group, ix)})
    document: dict[str, Any] = {"format": v.FORMAT, "form": head, "sections": sections}
    if criteria:
        document["criteria"] = criteria
    return document


def criteria_by_form(ix: Index) -> dict[str, list[dict]]:
    """Form code -> its eligibility criteria, in document order."""
    out: dict[str, list[dict]] = {}
    for condition in ix.of_kind("ConditionDef"):
        found = aliases(condition)
        if v.CRITERION not in found:
            continue
        if v.FORM not in found:
            ix.problems.add(condition, f"an eligibility criterion needs an Alias {v.FORM}")
            continue
        criterion: dict[str, Any] = {"id": found.get(v.CRITERION_ID, condition.get("OID")),
                                     "kind": found[v.CRITERION]}
        if found.get(v.SUBGROUPS):
            criterion["subgroups"] = found[v.SUBGROUPS].split()
        criterion["text"] = text(condition, "Description") or ""
        criterion["rule"] = ix.own_expression(condition, v.RULE_LANGUAGE)
        out.setdefault(found[v.FORM], []).append(criterion)
    return out


def _items(group: ET.Element, ix: Index) -> list[dict]:
    items = []
    for ref in ordered(children(group, "ItemRef")):
        referrer = f"{where(group)}, ItemRef {ref.get('ItemOID')!r}"
        item_def = ix.lookup(ref.get("ItemOID"), "ItemDef", referrer)
        if item_def is not None:
            items.append(_item(ref, item_def, ix, referrer))
    return items


def _item(ref: ET.Element, item_def: ET.Element, ix: Index, referrer: str) -> dict:
    found = aliases(item_def)
    units = [u for mu in children(item_def, "MeasurementUnitRef")
             if (u := ix.unit(mu.get("MeasurementUnitOID"), item_def)) is not None]
    codelist = _codelist(item_def, ix)
    item_type = _item_type(item_def, found, bool(units), bool(codelist), ix)
    item: dict[str, Any] = {"code": item_def.get("Name"),
                            "label": text(item_def, "Question") or item_def.get("Name"),
                            "type": item_type}
    if ref.get("Mandatory") == "Yes":
        item["required"] = True
    unit = found.get(v.UNIT) or (units[0] if units else None)
    if unit:
        item["unit"] = unit
    if item_type == ItemType.QUANTITY.value:
        item["units"] = units
    if codelist:
        item["codelist"] = codelist
    ranges = _ranges(item_def, ix)
    if ranges:
        item["range"] = ranges
    item.update({flag: True for flag in v.ITEM_FLAGS if found.get(f"ecrf:{flag}") == "true"})
    if ref.get("MethodOID"):
        item["derived"] = ix.expression(ref.get("MethodOID"), "MethodDef",
                                        v.DERIVATION_LANGUAGE, referrer)
    if ref.get("CollectionExceptionConditionOID"):
        item["show_if"] = _shown_when(ix.expression(ref.get("CollectionExceptionConditionOID"),
                                                    "ConditionDef", v.RULE_LANGUAGE, referrer))
    if found.get(v.HELP):
        item["help"] = found[v.HELP]
    return item


def _item_type(item_def: ET.Element, found: dict[str, str], has_units: bool,
               has_codelist: bool, ix: Index) -> str | None:
    named = found.get(v.TYPE)
    if named is not None:
        if named not in ItemType.__members__.values():
            ix.problems.add(item_def, f"Alias {v.TYPE} {named!r} is not one of our types")
        return named
    data_type = item_def.get("DataType", "")
    inferred = v.infer_type(data_type, has_units, has_codelist)
    if inferred is None:
        ix.problems.add(item_def, f"DataType {data_type!r} has no counterpart in forms/ "
                                  f"(add an Alias {v.TYPE})")
        return None
    return inferred.value


def _shown_when(exception: Any) -> Any:
    """ODM's condition says when an item is NOT collected; show_if says when it is."""
    if isinstance(exception, dict) and set(exception) == {"not"}:
        return exception["not"]
    return None if exception is None else {"not": exception}


def _codelist(item_def: ET.Element, ix: Index) -> dict[str, str]:
    ref = child(item_def, "CodeListRef")
    if ref is None:
        return {}
    codelist = ix.lookup(ref.get("CodeListOID"), "CodeList", where(item_def))
    if codelist is None:
        return {}
    if child(codelist, "ExternalCodeList") is not None:
        ix.problems.add(codelist, "an ExternalCodeList cannot be written into forms/")
        return {}
    entries = ordered(children(codelist, "CodeListItem")) or \
        ordered(children(codelist, "EnumeratedItem"))
    return {e.get("CodedValue", ""): text(e, "Decode") or e.get("CodedValue", "")
            for e in entries}


def _ranges(item_def: ET.Element, ix: Index) -> dict[str, list]:
    """RangeChecks GE low / LE high, Hard and Soft, as range: {hard: [low, high], …}."""
    bounds: dict[str, list] = {"hard": [None, None], "soft": [None, None]}
    for check in children(item_def, "RangeCheck"):
        side = {"GE": 0, "LE": 1}.get(check.get("Comparator", ""))
        values = children(check, "CheckValue")
        if side is None or len(values) != 1:
            ix.problems.add(item_def, f"RangeCheck Comparator={check.get('Comparator')!r}: "
                                      "only GE or LE with one CheckValue can be read")
            continue
        number = ix.problems.number(values[0].text, item_def, "RangeCheck CheckValue")
        bounds[check.get("SoftHard", "Hard").lower()][side] = number
    return {kind: pair for kind, pair in bounds.items() if pair != [None, None]}
