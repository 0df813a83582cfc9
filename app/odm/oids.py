"""ODM object identifiers, derived from our codes so that every export names things alike.

Public on purpose: the clinical-data export writes ItemData/FormData/StudyEventData that must
point at the very OIDs of the metadata export. Codes are `[A-Z][A-Z0-9_-]*` (no dots), so an
OID such as `IT.LAB.HGB` reads back unambiguously. Items and code lists are per form because
one item code (HGB) may be defined differently in two forms.
"""

from __future__ import annotations

import re
from datetime import datetime

from app.domain.definitions import FormDef

STUDY, EVENT, FORM, GROUP, ITEM, CODELIST = "ST", "SE", "F", "IG", "IT", "CL"
UNIT, SHOW_IF, CRITERION, METHOD, VERSION = "MU", "CD", "CR", "MT", "MDV"


def study_oid(study: str) -> str:
    return f"{STUDY}.{study}"


def metadata_version_oid(study: str, version: int | None = None, content_hash: str = "") -> str:
    """`MDV.CS20AT04.v3` for a stored version; else named by the content it describes."""
    if version is not None:
        return f"{VERSION}.{study}.v{version}"
    return f"{VERSION}.{study}.{content_hash[:12]}" if content_hash else f"{VERSION}.{study}"


def file_oid(study: str, created: datetime) -> str:
    return f"ODM.{study}.{created:%Y%m%dT%H%M%S}"


def event_oid(visit: str) -> str:
    return f"{EVENT}.{visit}"


def screening_event_oid() -> str:
    """The screening visit, which our schedules do not list: a dot keeps it from any code."""
    return f"{EVENT}.ecrf.screening"


def form_oid(form: str) -> str:
    return f"{FORM}.{form}"


def item_group_oid(form: str, section: int) -> str:
    """Sections have no code: they are numbered from 1 in the order of the form."""
    return f"{GROUP}.{form}.{section}"


def item_oid(form: str, item: str) -> str:
    return f"{ITEM}.{form}.{item}"


def codelist_oid(form: str, item: str) -> str:
    return f"{CODELIST}.{form}.{item}"


def show_if_oid(form: str, item: str) -> str:
    return f"{SHOW_IF}.{form}.{item}"


def criterion_oid(form: str, criterion: str) -> str:
    return f"{CRITERION}.{form}.{criterion}"


def method_oid(form: str, item: str) -> str:
    return f"{METHOD}.{form}.{item}"


_UNIT_PARTS = (("/", "_per_"), ("^", "E"), ("%", "percent"))


def unit_oid(unit: str) -> str:
    """`MU.mg_per_dL`, `MU.10E3_per_uL`, `MU.per_HPF`: the unit name, made attribute-safe."""
    slug = unit
    for old, new in _UNIT_PARTS:
        slug = slug.replace(old, new)
    return f"{UNIT}.{re.sub(r'[^A-Za-z0-9_.-]', '_', slug).lstrip('_')}"


def item_group_oids(form: FormDef) -> dict[str, str]:
    """Item code -> the OID of the item group (section) that holds it."""
    return {item.code: item_group_oid(form.code, n)
            for n, section in enumerate(form.sections, start=1) for item in section.items}


def code_of(oid: str, prefix: str) -> str:
    """Our code back from an OID we wrote (`SE.INF1` -> `INF1`); other OIDs are kept whole."""
    head = f"{prefix}."
    return oid[len(head):] if oid.startswith(head) else oid
