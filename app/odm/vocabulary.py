"""What the export writes and the import reads: ODM names, our Alias contexts, value formats.

What ODM 1.3.2 cannot say natively travels in `Alias` elements whose `Context` is one of
the `ecrf:` names below (docs/odm.md lists them for sponsors). A structured value is written
as our definition format's YAML in flow style (`{before: 7, after: 7, ours: true}`), the same
text as in schedules/ and forms/, so a reader of docs/definitions.md can read it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import yaml

from app.domain.definitions import ItemType

NS = "http://www.cdisc.org/ns/odm/v1.3"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
LANG = "en"
FORMAT = 1  # the definition format the import writes (docs/definitions.md)
# libyaml where installed: the import reads a few hundred flow values
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# --- Alias contexts --------------------------------------------------------------------------
FILE = "ecrf:file"  # the definition file (schedules/…, forms/…) the object came from
SOURCE = "ecrf:source"  # study: where the definition comes from (seeds/…)
REGISTRY_ID = "ecrf:registry-id"
PHASE = "ecrf:phase"
TARGET_ENROLLMENT = "ecrf:target-enrollment"
SCREENING_FORM = "ecrf:screening-form"
SCREENING_EVENT = "ecrf:screening-event"  # the StudyEventDef holding the screening CRF
RANDOMIZATION = "ecrf:randomization"
ARM = "ecrf:arm:"  # + arm code; Name is the arm's name
SUBGROUP = "ecrf:subgroup:"  # + sub-group code
ANCHOR_DEF = "ecrf:anchor:"  # + anchor code; Name is {name, kind, planned}
ANCHOR = "ecrf:anchor"  # visit: the anchor it is counted from
OFFSET = "ecrf:offset"  # visit: days after the anchor
WINDOW = "ecrf:window"  # visit: {before, after, ours}
RECORDS = "ecrf:records"  # visit: the event whose actual date it is
SAFETY = "ecrf:safety"  # visit: kept when a participant withdraws
STUDY = "ecrf:study"  # form: the study it belongs to (shared forms have none)
TYPE = "ecrf:type"  # item: our type, where DataType alone does not tell it
UNIT = "ecrf:unit"  # item: the protocol's unit, where it is not the first MeasurementUnitRef
ITEM_FLAGS = ("uln", "judgement", "identifying")  # item: Context ecrf:<flag>, Name true
HELP = "ecrf:help"
CRITERION = "ecrf:criterion"  # ConditionDef of an eligibility criterion: inclusion | exclusion
CRITERION_ID = "ecrf:criterion-id"
FORM = "ecrf:form"  # criterion: the screening form it belongs to
SUBGROUPS = "ecrf:subgroups"  # criterion: sub-group codes, space-separated

# FormalExpression contexts: our rule language and derivations, as YAML flow
RULE_LANGUAGE = "ecrf:rule"
DERIVATION_LANGUAGE = "ecrf:derivation"

# --- data types ------------------------------------------------------------------------------
DATA_TYPES: dict[ItemType, str] = {
    ItemType.TEXT: "text", ItemType.INTEGER: "integer", ItemType.DECIMAL: "float",
    ItemType.QUANTITY: "float", ItemType.DATE: "date", ItemType.BOOLEAN: "boolean",
    ItemType.CHOICE: "text", ItemType.TITRE: "text",
}


def infer_type(data_type: str, has_units: bool, has_codelist: bool) -> ItemType | None:
    """Our item type as an ODM reader would guess it; the export adds ecrf:type where wrong."""
    if has_codelist and data_type in ("text", "string", "integer"):
        return ItemType.CHOICE
    if data_type in ("float", "double"):
        return ItemType.QUANTITY if has_units else ItemType.DECIMAL
    return {"text": ItemType.TEXT, "string": ItemType.TEXT, "integer": ItemType.INTEGER,
            "date": ItemType.DATE, "boolean": ItemType.BOOLEAN}.get(data_type)


# --- values ----------------------------------------------------------------------------------

def flow(value: dict | list) -> str:
    """A mapping or list as one line of YAML flow style."""
    return yaml.dump(value, Dumper=DUMPER, default_flow_style=True, sort_keys=False,
                     allow_unicode=True, width=10**6).strip()  # one line


def read_flow(text: str) -> Any:
    """Raises ValueError with the YAML problem."""
    try:
        return yaml.load(text, Loader=LOADER)  # a safe loader (C or Python)
    except yaml.YAMLError as exc:
        raise ValueError(f"not YAML flow: {exc}".replace("\n", " ")) from None


def plain_number(value: Decimal) -> int | float | str:
    """A Decimal for YAML: a whole number, a float that reads back exactly, else its text."""
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    return as_float if Decimal(repr(as_float)) == value else str(value)


def number_text(value: Decimal) -> str:
    """For CheckValue: `5000000`, `0.05` (never `5E+6`)."""
    return format(value.normalize(), "f")
