"""An ODM 1.3.2 metadata file back into our definition documents (docs/odm.md).

`import_metadata` gives {file name: YAML-ready document}, the same shape as a Protocol's
`documents`, so `loader.build` reads it directly; `write_documents` puts them in a folder.
Everything ODM says natively is read from ODM; the rest from our `ecrf:` Aliases. A file
from another system lacks those, and the loader then names what is missing.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import yaml

from app.odm import oids
from app.odm import vocabulary as v
from app.odm.elements import local, tag
from app.odm.import_forms import criteria_by_form, form_document
from app.odm.reading import Index, Problems, aliases, child, children, ordered, text
from app.odm.schema import parse, schema_problems, where

FILE_NAME = re.compile(r"^(schedules|forms)/[A-Za-z0-9][A-Za-z0-9_.-]*\.yaml$")


class OdmImportError(Exception):
    """The file cannot be read; `problems` each name the element concerned."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def import_metadata(xml: bytes, validate: bool = True) -> dict[str, dict]:
    """{"schedules/x.yaml": {...}, "forms/y.yaml": {...}} from an ODM metadata file."""
    try:
        root = parse(xml)
    except ValueError as exc:
        raise OdmImportError([str(exc)]) from None
    if root.tag != tag("ODM"):
        raise OdmImportError([f"the document is <{local(root.tag)}>, not a CDISC ODM 1.3 file "
                              f"(an <ODM> element in the namespace {v.NS})"])
    if validate and (problems := schema_problems(root)):
        raise OdmImportError(["not valid ODM 1.3.2 (checked against its XSD):", *problems])
    problems = Problems()
    documents = _documents(root, problems)
    if problems.messages:
        raise OdmImportError(problems.messages)
    return documents


def _documents(root: ET.Element, problems: Problems) -> dict[str, dict]:
    study, mdv = _the_one(root, "Study", problems), None
    if study is not None:
        mdv = _the_one(study, "MetaDataVersion", problems)
    if study is None or mdv is None:
        return {}
    if child(mdv, "Include") is not None:
        problems.add(mdv, "Include (metadata from another version) is not supported")
    ix = Index(mdv, _units(study), problems)
    forms = {el.get("OID"): el for el in ix.of_kind("FormDef")}
    criteria = criteria_by_form(ix)
    for code in sorted(set(criteria) - {oids.code_of(oid, oids.FORM) for oid in forms}):
        problems.add(mdv, f"eligibility criteria name form {code}, which has no FormDef")
    named = [("schedules/", *_study_document(study, mdv, ix, forms), mdv)]
    for oid, form in forms.items():
        code = oids.code_of(oid, oids.FORM)
        named.append(("forms/", aliases(form).get(v.FILE) or f"forms/{_slug(code)}.yaml",
                      form_document(form, ix, criteria.get(code, [])), form))
    return _by_file_name(named, problems)


def _the_one(parent: ET.Element, name: str, problems: Problems) -> ET.Element | None:
    found = children(parent, name)
    if len(found) != 1:
        problems.add(parent, f"expected exactly one {name}, found {len(found)} "
                             f"({', '.join(el.get('OID', '?') for el in found) or 'none'})")
        return None
    return found[0]


def _units(study: ET.Element) -> dict[str, str]:
    basic = child(study, "BasicDefinitions")
    units = children(basic, "MeasurementUnit") if basic is not None else []
    return {u.get("OID", ""): u.get("Name") or text(u, "Symbol") or "" for u in units}


def _by_file_name(named: list[tuple[str, str, dict, ET.Element]], problems: Problems) \
        -> dict[str, dict]:
    """{file name: document}; each name must be a plain file in its folder, used once."""
    documents: dict[str, dict] = {}
    for folder, name, document, elem in named:
        if not (FILE_NAME.match(name) and name.startswith(folder)):
            problems.add(elem, f"Alias {v.FILE} {name!r}: expected {folder}<name>.yaml")
        elif name in documents:
            problems.add(elem, f"Alias {v.FILE} {name!r} is used twice")
        else:
            documents[name] = document
    return documents


def _slug(code: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", code.lower())


# --- the study file --------------------------------------------------------------------------

def _study_document(study: ET.Element, mdv: ET.Element, ix: Index,
                    forms: dict[str, ET.Element]) -> tuple[str, dict]:
    protocol = child(mdv, "Protocol")
    found = aliases(protocol)
    code = _global(study, "StudyName")
    document: dict[str, Any] = {"format": v.FORMAT, "study": _head(study, found, code, ix)}
    if v.SCREENING_FORM in found:
        document["screening_form"] = found[v.SCREENING_FORM]
    groups = _coded(found, v.SUBGROUP)
    if groups:
        document["subgroups"] = groups
    document["arms"] = _coded(found, v.ARM)
    if v.RANDOMIZATION in found:
        document["randomization"] = ix.problems.flow(found[v.RANDOMIZATION], protocol,
                                                     f"Alias {v.RANDOMIZATION}")
    anchors = _anchors(protocol, found, ix)
    if anchors:
        document["anchors"] = anchors
    document["visits"] = [_visit(event, forms, ix) for event in _events(protocol, ix)]
    return found.get(v.FILE) or f"schedules/{_slug(code)}.yaml", document


def _anchors(protocol: ET.Element | None, found: dict[str, str], ix: Index) -> list[dict]:
    """Aliases `ecrf:anchor:INF1` = {name, kind, planned} -> [{code: INF1, name: …}]."""
    return [{"code": context[len(v.ANCHOR_DEF):],
             **(ix.problems.flow(value, protocol, f"Alias {context}") or {})}
            for context, value in found.items() if context.startswith(v.ANCHOR_DEF)]


def _events(protocol: ET.Element | None, ix: Index) -> list[ET.Element]:
    """The visits in the Protocol's order (without a Protocol: every StudyEventDef)."""
    if protocol is None:
        return ix.of_kind("StudyEventDef")
    refs = ordered(children(protocol, "StudyEventRef"))
    found = [ix.lookup(ref.get("StudyEventOID"), "StudyEventDef",
                       f"Protocol, StudyEventRef {ref.get('StudyEventOID')!r}") for ref in refs]
    return [event for event in found if event is not None]


def _head(study: ET.Element, found: dict[str, str], code: str, ix: Index) -> dict[str, Any]:
    head: dict[str, Any] = {"code": code, "title": _global(study, "StudyDescription")}
    for key, context in (("registry_id", v.REGISTRY_ID), ("phase", v.PHASE),
                         ("target_enrollment", v.TARGET_ENROLLMENT), ("source", v.SOURCE)):
        if context in found:
            head[key] = found[context]
    if "target_enrollment" in head:
        head["target_enrollment"] = ix.problems.integer(head["target_enrollment"], study,
                                                        f"Alias {v.TARGET_ENROLLMENT}")
    return head


def _global(study: ET.Element, name: str) -> str:
    """StudyName, StudyDescription: plain text under GlobalVariables."""
    found = study.find(f"{tag('GlobalVariables')}/{tag(name)}")
    return (found.text or "").strip() if found is not None else ""


def _coded(found: dict[str, str], prefix: str) -> list[dict[str, str]]:
    """Aliases `ecrf:arm:MSC` = name -> [{code: MSC, name: …}]."""
    return [{"code": context[len(prefix):], "name": name}
            for context, name in found.items() if context.startswith(prefix)]


def _visit(event: ET.Element, forms: dict[str, ET.Element], ix: Index) -> dict[str, Any]:
    found = aliases(event)
    visit: dict[str, Any] = {"code": oids.code_of(event.get("OID", ""), oids.EVENT),
                             "name": event.get("Name")}
    if v.ANCHOR in found:
        visit["anchor"] = found[v.ANCHOR]
    if v.OFFSET in found:
        visit["offset"] = ix.problems.integer(found[v.OFFSET], event, f"Alias {v.OFFSET}")
    if v.WINDOW in found:
        visit["window"] = ix.problems.flow(found[v.WINDOW], event, f"Alias {v.WINDOW}")
    if v.RECORDS in found:
        visit["records"] = found[v.RECORDS]
    visit["forms"] = []
    for ref in ordered(children(event, "FormRef")):
        if ref.get("FormOID") in forms:
            visit["forms"].append(oids.code_of(ref.get("FormOID", ""), oids.FORM))
        else:
            ix.problems.add(f"{where(event)}, FormRef", f"no FormDef with OID "
                                                        f"{ref.get('FormOID')!r}")
    if found.get(v.SAFETY) == "true":
        visit["safety"] = True
    return visit


# --- writing ---------------------------------------------------------------------------------

class _Dumper(v.DUMPER):
    """Short mappings and lists of plain values in flow style, as people write them."""


def _represent_dict(dumper: yaml.BaseDumper, data: dict) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=_short(data))


def _represent_list(dumper: yaml.BaseDumper, data: list) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=_short(data))


def _short(data: dict | list, budget: int = 80) -> bool:
    return _flow_size(data, budget) <= budget


def _flow_size(data: dict | list, budget: int) -> int:
    """About the length of `data` in flow style, counted only until it passes `budget`."""
    total = 2
    pairs = data.items() if isinstance(data, dict) else ((None, x) for x in data)
    for key, value in pairs:
        total += 2 + (len(str(key)) + 2 if key is not None else 0)
        total += _flow_size(value, budget - total) if isinstance(value, dict | list) \
            else len(str(value))
        if total > budget:
            break
    return total


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)


def dump(document: dict) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=96)


def write_documents(documents: dict[str, dict], into: Path, header: str = "") -> list[Path]:
    """Each document as YAML under `into` (schedules/…, forms/…); the paths written."""
    written = []
    for name, document in documents.items():
        if not FILE_NAME.match(name):
            raise ValueError(f"not a definition file name: {name!r}")
        path = into / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + dump(document), encoding="utf-8")
        written.append(path)
    return written
