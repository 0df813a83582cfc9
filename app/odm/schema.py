"""Reading an ODM file safely and checking it against the official ODM 1.3.2 XSD.

The XSD is the one odmlib ships; it is found through the installed package, never a path.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from functools import lru_cache
from importlib import resources
from pathlib import Path

import xmlschema

from app.odm.elements import local

XSD = "schemas/odm/1.3.2/ODM1-3-2.xsd"


def xsd_path() -> Path:
    return Path(str(resources.files("odmlib") / XSD))


@lru_cache(maxsize=1)
def odm_schema() -> xmlschema.XMLSchema:
    """Built once per process (about a second)."""
    return xmlschema.XMLSchema(str(xsd_path()))


def parse(xml: bytes) -> ET.Element:
    """The document's root; entities and external references are refused, not expanded."""
    try:
        resource = xmlschema.XMLResource(io.BytesIO(xml), defuse="always")
    except xmlschema.XMLResourceError as exc:
        raise ValueError(f"not a readable XML file: {exc}") from None
    return resource.root


def schema_problems(root: ET.Element, limit: int = 20) -> list[str]:
    """What the XSD finds wrong, each naming the element (path, and OID where it has one)."""
    problems = []
    for error in odm_schema().iter_errors(root):
        problems.append(f"{where(error.elem, error.path)}: {error.reason}")
        if len(problems) == limit:
            problems.append(f"(stopped after {limit} problems)")
            break
    return problems


def where(elem: ET.Element | None, path: str | None = None) -> str:
    """`/ODM/Study/MetaDataVersion/ItemDef[3] (OID IT.LAB.HGB)` or `ItemDef (OID …)`."""
    shown = re.sub(r"\{[^}]*\}", "", path) if path else None
    if elem is None:
        return shown or "the document"
    shown = shown or local(elem.tag)
    oid = elem.get("OID")
    return f"{shown} (OID {oid})" if oid else shown
