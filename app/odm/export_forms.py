"""One CRF as ODM: FormDef, an ItemGroupDef per section, ItemDefs, CodeLists, and the
ConditionDefs/MethodDefs of its branching, eligibility criteria and derived items."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from app.domain.definitions import Criterion, FormDef, Item, ItemType, Range, Section
from app.odm import oids
from app.odm import vocabulary as v
from app.odm.elements import alias, element, sub, translated
from app.odm.expressions import (
    derivation_data,
    describe,
    describe_derivation,
    rule_data,
)

# MetaDataVersion holds each kind of definition in this order (the XSD's sequence)
KINDS = ("FormDef", "ItemGroupDef", "ItemDef", "CodeList", "ConditionDef", "MethodDef")


def form_parts(form: FormDef) -> dict[str, list[ET.Element]]:
    """The form's definitions by element name (one of KINDS)."""
    parts: dict[str, list[ET.Element]] = defaultdict(list)
    parts["FormDef"].append(_form_def(form))
    for n, section in enumerate(form.sections, start=1):
        parts["ItemGroupDef"].append(_group_def(form, section, n))
        for item in section.items:
            parts["ItemDef"].append(_item_def(form, item))
            if item.codelist:
                parts["CodeList"].append(_codelist(form, item))
            if item.show_if is not None:
                parts["ConditionDef"].append(_show_if(form, item))
            if item.derived is not None:
                parts["MethodDef"].append(_method(form, item))
    parts["ConditionDef"] += [_criterion(form, c) for c in form.criteria]
    return parts


def units_of(item: Item) -> list[str]:
    """The units an item refers to: those a site may enter, else the protocol's own."""
    if item.type is ItemType.QUANTITY:
        return list(item.units)
    return [item.unit] if item.unit else []


def _form_def(form: FormDef) -> ET.Element:
    el = element("FormDef", OID=oids.form_oid(form.code), Name=form.title or form.code,
                 Repeating="Yes" if form.repeating else "No")
    for n, _ in enumerate(form.sections, start=1):
        sub(el, "ItemGroupRef", ItemGroupOID=oids.item_group_oid(form.code, n),
            OrderNumber=str(n), Mandatory="Yes")
    alias(el, v.FILE, form.source)
    alias(el, v.STUDY, form.study)
    return el


def _group_def(form: FormDef, section: Section, n: int) -> ET.Element:
    oid = oids.item_group_oid(form.code, n)
    el = element("ItemGroupDef", OID=oid, Name=section.title or oid, Repeating="No")
    for order, item in enumerate(section.items, start=1):
        sub(el, "ItemRef", ItemOID=oids.item_oid(form.code, item.code), OrderNumber=str(order),
            Mandatory="Yes" if item.required else "No",
            MethodOID=oids.method_oid(form.code, item.code) if item.derived else None,
            CollectionExceptionConditionOID=oids.show_if_oid(form.code, item.code)
            if item.show_if is not None else None)
    return el


def _item_def(form: FormDef, item: Item) -> ET.Element:
    el = element("ItemDef", OID=oids.item_oid(form.code, item.code), Name=item.code,
                 DataType=v.DATA_TYPES[item.type])
    translated(el, "Question", item.label)
    units = units_of(item)
    for unit in units:
        sub(el, "MeasurementUnitRef", MeasurementUnitOID=oids.unit_oid(unit))
    for soft_hard, limits in (("Hard", item.hard), ("Soft", item.soft)):
        if limits is not None:
            _range_checks(el, limits, soft_hard, item.unit)
    if item.codelist:
        sub(el, "CodeListRef", CodeListOID=oids.codelist_oid(form.code, item.code))
    if v.infer_type(v.DATA_TYPES[item.type], bool(units), bool(item.codelist)) is not item.type:
        alias(el, v.TYPE, item.type.value)
    if item.unit and item.unit != (units[0] if units else None):
        alias(el, v.UNIT, item.unit)
    for flag in v.ITEM_FLAGS:
        if getattr(item, flag):
            alias(el, f"ecrf:{flag}", "true")
    alias(el, v.HELP, item.help)
    return el


def _range_checks(parent: ET.Element, limits: Range, soft_hard: str, unit: str | None) -> None:
    """One RangeCheck per bound: the value must be GE the low and LE the high one."""
    text = (f"Accepted range {limits.describe(unit)}: other values are refused"
            if soft_hard == "Hard" else f"Expected range {limits.describe(unit)}: other values "
            "are flagged for review (possibly a unit mistake)")
    for comparator, bound in (("GE", limits.low), ("LE", limits.high)):
        if bound is None:
            continue
        check = sub(parent, "RangeCheck", Comparator=comparator, SoftHard=soft_hard)
        sub(check, "CheckValue", v.number_text(bound))
        if unit:
            sub(check, "MeasurementUnitRef", MeasurementUnitOID=oids.unit_oid(unit))
        translated(check, "ErrorMessage", text)


def _codelist(form: FormDef, item: Item) -> ET.Element:
    el = element("CodeList", OID=oids.codelist_oid(form.code, item.code), Name=item.code,
                 DataType="text")
    for n, (code, label) in enumerate(item.codelist, start=1):
        translated(sub(el, "CodeListItem", CodedValue=code, OrderNumber=str(n)), "Decode", label)
    return el


def _show_if(form: FormDef, item: Item) -> ET.Element:
    """ODM's CollectionExceptionCondition says when NOT to collect: the negated show_if."""
    el = element("ConditionDef", OID=oids.show_if_oid(form.code, item.code),
                 Name=f"{item.code} not applicable")
    translated(el, "Description", f"{item.code} is not collected unless {describe(item.show_if)}")
    sub(el, "FormalExpression", v.flow({"not": rule_data(item.show_if)}),
        Context=v.RULE_LANGUAGE)
    return el


def _criterion(form: FormDef, criterion: Criterion) -> ET.Element:
    el = element("ConditionDef", OID=oids.criterion_oid(form.code, criterion.id),
                 Name=f"{criterion.kind.value.capitalize()} criterion {criterion.id}")
    translated(el, "Description", criterion.text or criterion.id)
    sub(el, "FormalExpression", v.flow(rule_data(criterion.rule)), Context=v.RULE_LANGUAGE)
    alias(el, v.CRITERION, criterion.kind.value)
    alias(el, v.CRITERION_ID, criterion.id)
    alias(el, v.FORM, form.code)
    alias(el, v.SUBGROUPS, " ".join(criterion.subgroups))
    return el


def _method(form: FormDef, item: Item) -> ET.Element:
    el = element("MethodDef", OID=oids.method_oid(form.code, item.code),
                 Name=f"{item.code} derivation", Type="Computation")
    translated(el, "Description", describe_derivation(item.derived))
    sub(el, "FormalExpression", v.flow(derivation_data(item.derived)),
        Context=v.DERIVATION_LANGUAGE)
    return el
