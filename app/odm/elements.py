"""Small helpers over xml.etree for ODM elements.

Elements are built with plain names and the root carries `xmlns`, so everything written is in
the ODM namespace (ElementTree's `default_namespace` refuses unprefixed attributes). Parsed
elements have qualified names: find them with `tag("ItemDef")`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from app.odm.vocabulary import LANG, NS, XML_LANG


def tag(name: str) -> str:
    return f"{{{NS}}}{name}"


def local(name: str) -> str:
    """`{ns}ItemDef` -> `ItemDef`."""
    return name.rsplit("}", 1)[-1]


def element(name: str, **attrs: str | None) -> ET.Element:
    return ET.Element(name, {k: v for k, v in attrs.items() if v is not None})


def sub(parent: ET.Element, name: str, text: str | None = None, **attrs: str | None) \
        -> ET.Element:
    child = ET.SubElement(parent, name, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        child.text = text
    return child


def translated(parent: ET.Element, name: str, text: str) -> ET.Element:
    """`<Question><TranslatedText xml:lang="en">…</TranslatedText></Question>` and the like."""
    holder = sub(parent, name)
    sub(holder, "TranslatedText", text).set(XML_LANG, LANG)
    return holder


def alias(parent: ET.Element, context: str, name: str | int | None) -> None:
    if name is not None and name != "":
        sub(parent, "Alias", Context=context, Name=str(name))


def to_bytes(root: ET.Element) -> bytes:
    """The document, indented, UTF-8 with its declaration; `root` is an ODM built here."""
    root.set("xmlns", NS)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
