"""A study's definition as a CDISC ODM 1.3.2 metadata document (docs/odm.md has the mapping).

`export_metadata` gives the whole file; `odm_root` and `study_element` are the pieces the
clinical-data export reuses, so that its ClinicalData sits beside the same Study metadata.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from importlib import metadata as package_metadata

from app.domain.definitions import FormDef, Protocol, StudyDef
from app.domain.schedule import AnchorDef, VisitDef
from app.odm import oids
from app.odm import vocabulary as v
from app.odm.elements import alias, element, sub, to_bytes, translated
from app.odm.export_forms import KINDS, form_parts, units_of

SOURCE_SYSTEM = "lupus-ecrf"


def export_metadata(protocol: Protocol, version: int | None = None,
                    now: datetime | None = None) -> bytes:
    """The ODM file (UTF-8 bytes). `version` is the stored protocol version, if there is one."""
    created = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    root = odm_root(oids.file_oid(protocol.study.code, created), created, "Metadata")
    root.append(study_element(protocol, version))
    return to_bytes(root)


def odm_root(file_oid: str, created: datetime, granularity: str | None = None) -> ET.Element:
    return element("ODM", FileType="Snapshot", Granularity=granularity, FileOID=file_oid,
                   CreationDateTime=created.isoformat(), ODMVersion="1.3.2",
                   SourceSystem=SOURCE_SYSTEM, SourceSystemVersion=_our_version())


def _our_version() -> str | None:
    try:
        return package_metadata.version(SOURCE_SYSTEM)
    except package_metadata.PackageNotFoundError:
        return None


def study_element(protocol: Protocol, version: int | None = None) -> ET.Element:
    head = protocol.study
    study = element("Study", OID=oids.study_oid(head.code))
    names = sub(study, "GlobalVariables")
    sub(names, "StudyName", head.code)
    sub(names, "StudyDescription", head.title)
    sub(names, "ProtocolName", head.code)
    units = units_used(protocol.forms.values())
    if units:
        basic = sub(study, "BasicDefinitions")
        for unit in units:
            translated(sub(basic, "MeasurementUnit", OID=oids.unit_oid(unit), Name=unit),
                       "Symbol", unit)
    mdv = sub(study, "MetaDataVersion",
              OID=oids.metadata_version_oid(head.code, version, protocol.content_hash),
              Name=f"{head.code} definition" + (f", version {version}" if version else ""))
    mdv.append(_protocol(head, _provenance(protocol)))
    mdv.extend(_event_def(visit, protocol.forms) for visit in head.schedule.visits)
    mdv.append(_screening_event(head))
    parts = [form_parts(form) for form in protocol.forms.values()]
    for kind in KINDS:
        for part in parts:
            mdv.extend(part[kind])
    return study


def units_used(forms) -> list[str]:
    """Every unit an item refers to, in order of first use."""
    seen: dict[str, None] = {}
    for form in forms:
        for item in form.items.values():
            for unit in (*units_of(item), item.unit):
                if unit:
                    seen[unit] = None
    return list(seen)


def _provenance(protocol: Protocol) -> str | None:
    """`study.source` (seeds/…) is kept in the study file only, not in StudyDef."""
    document = protocol.documents.get(protocol.study.source)
    head = document.get("study") if isinstance(document, dict) else None
    return head.get("source") if isinstance(head, dict) else None


def _protocol(head: StudyDef, provenance: str | None) -> ET.Element:
    el = element("Protocol")
    translated(el, "Description", head.title)
    for n, visit in enumerate(head.schedule.visits, start=1):
        sub(el, "StudyEventRef", StudyEventOID=oids.event_oid(visit.code), OrderNumber=str(n),
            Mandatory="Yes")
    for context, value in ((v.FILE, head.source), (v.SOURCE, provenance),
                           (v.REGISTRY_ID, head.registry_id), (v.PHASE, head.phase),
                           (v.TARGET_ENROLLMENT, head.target_enrollment),
                           (v.SCREENING_FORM, head.screening_form)):
        alias(el, context, value)
    for arm in head.arms:
        alias(el, v.ARM + arm.code, arm.name)
    for group in head.subgroups:
        alias(el, v.SUBGROUP + group.code, group.name)
    if head.randomization is not None:
        r = head.randomization
        alias(el, v.RANDOMIZATION, v.flow({"ratio": dict(r.ratio),
                                           "block_sizes": list(r.block_sizes),
                                           "stratify_by": list(r.stratify_by)}))
    for anchor in head.schedule.anchors:
        alias(el, v.ANCHOR_DEF + anchor.code, v.flow(_anchor_data(anchor)))
    return el


def _anchor_data(anchor: AnchorDef) -> dict:
    data: dict = {"name": anchor.name, "kind": anchor.kind.value}
    if anchor.planned_from is not None:
        data["planned"] = {"anchor": anchor.planned_from, "offset": anchor.planned_offset}
    return data


def _event_def(visit: VisitDef, forms: dict[str, FormDef]) -> ET.Element:
    el = element("StudyEventDef", OID=oids.event_oid(visit.code), Name=visit.name or visit.code,
                 Repeating="No", Type="Scheduled")
    translated(el, "Description", _timing(visit))
    for n, code in enumerate(visit.forms, start=1):
        repeating = code in forms and forms[code].repeating
        sub(el, "FormRef", FormOID=oids.form_oid(code), OrderNumber=str(n),
            Mandatory="No" if repeating else "Yes")
    window: dict = {"before": visit.before, "after": visit.after}
    if visit.window_ours:
        window["ours"] = True
    alias(el, v.ANCHOR, visit.anchor)
    alias(el, v.OFFSET, visit.offset)
    alias(el, v.WINDOW, v.flow(window))
    alias(el, v.RECORDS, visit.records)
    alias(el, v.SAFETY, "true" if visit.safety else None)
    return el


def _screening_event(head: StudyDef) -> ET.Element:
    """Where clinical data files put the screening CRF. The Protocol does not list it, as our
    schedules do not: the import reads the visits from the Protocol and leaves it aside."""
    el = element("StudyEventDef", OID=oids.screening_event_oid(), Name="Screening",
                 Repeating="No", Type="Scheduled")
    translated(el, "Description", "Screening and eligibility, before enrolment")
    sub(el, "FormRef", FormOID=oids.form_oid(head.screening_form), OrderNumber="1",
        Mandatory="Yes")
    alias(el, v.SCREENING_EVENT, "true")
    return el


def _timing(visit: VisitDef) -> str:
    """The visit's timing in words, for people reading the file."""
    text = f"{visit.anchor} + {visit.offset} days, window −{visit.before}/+{visit.after} days"
    if visit.window_ours:
        text += " (window chosen by the study team: the protocol gives none)"
    if visit.safety:
        text += "; a safety visit, kept when a participant withdraws"
    return text
