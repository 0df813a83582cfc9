"""Reading parsed ODM: children, texts, aliases, and problems that name their element."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation

from app.odm.elements import local, tag
from app.odm.schema import where
from app.odm.vocabulary import LANG, XML_LANG, plain_number, read_flow


def children(parent: ET.Element, name: str) -> list[ET.Element]:
    return parent.findall(tag(name))


def child(parent: ET.Element, name: str) -> ET.Element | None:
    return parent.find(tag(name))


def ordered(refs: list[ET.Element]) -> list[ET.Element]:
    """Refs by OrderNumber where given, otherwise in document order (the sort is stable)."""
    return sorted(refs, key=_order_number)


def _order_number(ref: ET.Element) -> int:
    value = ref.get("OrderNumber") or ""
    return int(value) if value.lstrip("-").isdigit() else 0


def text(parent: ET.Element | None, name: str) -> str | None:
    """The English (or only) TranslatedText of parent/name, or the plain text of parent/name."""
    holder = child(parent, name) if parent is not None else None
    if holder is None:
        return None
    texts = children(holder, "TranslatedText")
    if not texts:
        return (holder.text or "").strip() or None
    chosen = next((t for t in texts if t.get(XML_LANG) == LANG), None) or \
        next((t for t in texts if t.get(XML_LANG) is None), texts[0])
    return (chosen.text or "").strip() or None


def aliases(parent: ET.Element | None) -> dict[str, str]:
    """Context -> Name, in document order (the XSD keeps each Context once per element)."""
    if parent is None:
        return {}
    return {a.get("Context", ""): a.get("Name", "") for a in children(parent, "Alias")}


class Problems:
    """Collects what cannot be read, each naming its element, to report them all at once."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, elem: ET.Element | str, message: str) -> None:
        self.messages.append(f"{elem if isinstance(elem, str) else where(elem)}: {message}")

    def flow(self, value: str | None, elem: ET.Element, what: str) -> dict | None:
        """A mapping written in YAML flow style (every structured value we write is one)."""
        try:
            found = read_flow(value or "")
        except ValueError as exc:
            self.add(elem, f"{what}: {exc}")
            return None
        if not isinstance(found, dict):
            self.add(elem, f"{what}: expected a mapping {{…}}, got {value!r}")
            return None
        return found

    def integer(self, value: str | None, elem: ET.Element, what: str) -> int | None:
        try:
            return int(value or "")
        except ValueError:
            self.add(elem, f"{what}: expected a whole number, got {value!r}")
            return None

    def number(self, value: str | None, elem: ET.Element, what: str) -> int | float | str | None:
        try:
            number = Decimal((value or "").strip())
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            self.add(elem, f"{what}: expected a number, got {value!r}")
            return None
        return plain_number(number)


class Index:
    """A MetaDataVersion's definitions by OID, and the study's units by OID."""

    def __init__(self, mdv: ET.Element, units: dict[str, str], problems: Problems) -> None:
        self.defs = {el.get("OID"): el for el in mdv if el.get("OID")}
        self.units = units
        self.problems = problems

    def of_kind(self, kind: str) -> list[ET.Element]:
        return [el for el in self.defs.values() if local(el.tag) == kind]

    def lookup(self, oid: str | None, kind: str, referrer: str) -> ET.Element | None:
        found = self.defs.get(oid or "")
        if found is None or local(found.tag) != kind:
            self.problems.add(referrer, f"no {kind} with OID {oid!r}")
            return None
        return found

    def unit(self, oid: str | None, referrer: ET.Element) -> str | None:
        if oid not in self.units:
            self.problems.add(referrer, f"no MeasurementUnit with OID {oid!r}")
            return None
        return self.units[oid]

    def expression(self, oid: str | None, kind: str, language: str, referrer: str) \
            -> dict | None:
        """The FormalExpression in our `language` of the ConditionDef/MethodDef named."""
        found = self.lookup(oid, kind, referrer)
        return None if found is None else self.own_expression(found, language)

    def own_expression(self, found: ET.Element, language: str) -> dict | None:
        for expression in children(found, "FormalExpression"):
            if expression.get("Context") == language:
                return self.problems.flow(expression.text, found, "FormalExpression")
        self.problems.add(found, f"no FormalExpression with Context {language!r} "
                                 "(the only expression language this import reads)")
        return None
