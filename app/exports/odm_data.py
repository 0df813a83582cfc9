"""CDISC ODM 1.3.2 clinical data, streamed: every CRF of a study, screening and visits.

Each ItemData carries the value as entered with its unit, and the AuditRecord of its last
change (who, where, when, why); each FormData and StudyEventData carries its investigator's
signature while that is valid. AdminData names the users, sites and signature meanings the
records point at. OIDs are those of the metadata export (app/odm/oids.py).

Rows come from one streamed, ordered query; the XML is written as it is read, so memory does
not grow with the study.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy import Connection, Engine, and_, case, func, null, or_, select, true
from sqlalchemy.orm import Session, aliased

from app.audit.models import AuditEvent
from app.auth.models import User
from app.crf.models import CrfEntry, ItemValue, split_shown
from app.domain.definitions import FormDef
from app.exports.csv_export import ExportError, Progress, snapshot
from app.model_base import utcnow
from app.odm import oids
from app.participants.models import Participant
from app.screening.models import Screening
from app.signatures.models import Signature
from app.sites.models import Site
from app.studies.models import ProtocolVersion, Study
from app.studies.services import protocol_of
from app.visits.models import Visit

NS = "http://www.cdisc.org/ns/odm/v1.3"
CHUNK = 8 * 1024
LEGAL_REASON = "Electronic signature (21 CFR Part 11): the signer entered their password again"


def user_oid(user_id: int | None) -> str:
    return f"USR.{user_id}" if user_id is not None else "USR.system"


def location_oid(site_code: str) -> str:
    return f"LOC.{site_code}"


def meaning_oid(meaning: str) -> str:
    return "SD." + hashlib.sha256(meaning.encode()).hexdigest()[:10]


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _attrs(**values: object) -> str:
    return "".join(f" {k}={quoteattr(str(v))}" for k, v in values.items() if v is not None)


def odm_data(engine: Engine, study_code: str, site_ids: frozenset[int] | None,
             progress: Progress | None = None, history: bool = False) -> Iterator[bytes]:
    """The ODM document, chunk by chunk; `site_ids` None means every site.

    A Snapshot holds each value once, with the audit record of its last change; with
    `history`, a Transactional file holds every change of every value in order (Insert,
    then Update; a cleared value is an Update with IsNull), each with its audit record.
    """
    with snapshot(engine) as conn:
        session = Session(bind=conn)
        study = session.scalar(select(Study).where(Study.code == study_code))
        if study is None:
            raise ExportError(f"No study {study_code!r}.")
        versions = session.execute(select(ProtocolVersion.id, ProtocolVersion.version)
                                   .where(ProtocolVersion.study_id == study.id)
                                   .order_by(ProtocolVersion.version)).all()
        now = utcnow()
        head = _attrs(xmlns=NS, FileType="Transactional" if history else "Snapshot",
                      Granularity="AllClinicalData",
                      FileOID=oids.file_oid(study.code, now) + ".data",
                      CreationDateTime=_when(now), ODMVersion="1.3.2", Originator="Lupus eCRF")
        parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<ODM{head}>\n']
        size = 0  # of the fragments waiting in `parts`, counted as they come
        parts += _admin(conn, study, versions, site_ids, now)
        for version_id, number in versions:
            clinical = _attrs(StudyOID=oids.study_oid(study.code),
                              MetaDataVersionOID=oids.metadata_version_oid(study.code, number))
            parts.append(f"<ClinicalData{clinical}>\n")
            forms = protocol_of(session.get(ProtocolVersion, version_id)).forms
            rows = (_history_rows if history else _rows)(conn, version_id, site_ids)
            try:  # a client that goes away mid-file must not leave a server cursor open
                for fragment in _subjects(rows, forms, progress):
                    parts.append(fragment)
                    size += len(fragment)
                    if size >= CHUNK:
                        yield "".join(parts).encode()
                        parts, size = [], 0
            finally:
                rows.close()
            parts.append("</ClinicalData>\n")
        parts.append("</ODM>\n")
        yield "".join(parts).encode()


def _admin(conn: Connection, study: Study, versions, site_ids, now: datetime) -> list[str]:
    """Users who entered data or signed, the sites, and the meanings signed with."""
    in_study = select(CrfEntry.id).join(ProtocolVersion).where(
        ProtocolVersion.study_id == study.id)
    actors = select(AuditEvent.actor_id).where(AuditEvent.entity_type == "crf_entries",
                                               AuditEvent.entity_id.in_(in_study))
    signatures = select(Signature).where(Signature.study_id == study.id)
    if site_ids is not None:  # nobody and nothing of another site
        actors = actors.where(AuditEvent.site_id.in_(sorted(site_ids)))
        signatures = signatures.where(Signature.site_id.in_(sorted(site_ids)))
    signers = select(signatures.subquery().c.signer_id)
    users = conn.execute(select(User.id, User.username, User.full_name)
                         .where(User.id.in_(actors.union(signers))).order_by(User.id)).all()
    sites = conn.execute(select(Site.code, Site.name).order_by(Site.code).where(
        Site.id.in_(sorted(site_ids)) if site_ids is not None else true())).all()
    meaning = signatures.subquery().c.meaning
    meanings = conn.scalars(select(meaning).distinct().order_by(meaning)).all()
    out = [f"<AdminData{_attrs(StudyOID=oids.study_oid(study.code))}>\n"]
    out += [f'<User OID="{user_oid(u.id)}"><LoginName>{escape(u.username)}</LoginName>'
            f"<FullName>{escape(u.full_name)}</FullName></User>\n" for u in users]
    out.append(f'<User OID="{user_oid(None)}"><LoginName>system</LoginName></User>\n')
    refs = "".join("<MetaDataVersionRef" + _attrs(
        StudyOID=oids.study_oid(study.code),
        MetaDataVersionOID=oids.metadata_version_oid(study.code, number),
        EffectiveDate=now.date().isoformat()) + "/>" for _, number in versions)
    out += ["<Location" + _attrs(OID=location_oid(s.code), Name=s.name, LocationType="Site")
            + f">{refs}</Location>\n" for s in sites]
    out += ["<SignatureDef" + _attrs(OID=meaning_oid(m), Methodology="Electronic")
            + f"><Meaning>{escape(m)}</Meaning><LegalReason>{LEGAL_REASON}</LegalReason>"
            "</SignatureDef>\n" for m in meanings]
    out.append("</AdminData>\n")
    return out


def _rows(conn: Connection, version_id: int, site_ids):
    """Each stored value with the audit row of its last change."""
    last_change = (select(AuditEvent.entity_id, AuditEvent.field,
                          func.max(AuditEvent.id).label("last_id"))
                   .where(AuditEvent.entity_type == "crf_entries",
                          AuditEvent.action.in_(("enter", "update")))
                   .group_by(AuditEvent.entity_id, AuditEvent.field).subquery())
    change = aliased(AuditEvent)
    stmt = (_with_context(select(ItemValue.item_code, ItemValue.value, ItemValue.unit,
                                 change.actor_id, change.occurred_at, change.reason,
                                 null().label("action")))
            .join(ItemValue, ItemValue.entry_id == CrfEntry.id)
            .outerjoin(last_change, and_(last_change.c.entity_id == CrfEntry.id,
                                         last_change.c.field == ItemValue.item_code))
            .outerjoin(change, change.id == last_change.c.last_id)
            .where(ItemValue.value.is_not(None))
            .order_by(*_ORDER, ItemValue.id))
    return _streamed(conn, stmt, version_id, site_ids)


def _history_rows(conn: Connection, version_id: int, site_ids):
    """Every change of every value, oldest first, as its audit row recorded it."""
    stmt = (_with_context(select(AuditEvent.field.label("item_code"),
                                 AuditEvent.new_value.label("value"),
                                 null().label("unit"), AuditEvent.actor_id,
                                 AuditEvent.occurred_at, AuditEvent.reason, AuditEvent.action))
            .join(AuditEvent, and_(AuditEvent.entity_type == "crf_entries",
                                   AuditEvent.entity_id == CrfEntry.id,
                                   AuditEvent.action.in_(("enter", "update"))))
            .order_by(*_ORDER, AuditEvent.id))
    return _streamed(conn, stmt, version_id, site_ids)


# Enrolled participants first (screening, then visits by date), then screenings that did not
# lead to enrolment; written as portable CASEs rather than NULLS FIRST/LAST.
_ORDER = (case((Participant.id.is_(None), 1), else_=0), Participant.id,
          case((Visit.id.is_(None), 0), else_=1), Screening.id, Visit.target_date, Visit.id,
          CrfEntry.form_code, CrfEntry.sequence)


def _with_context(stmt):
    """Where each value belongs (subject, site, visit, CRF) and the signatures valid now."""
    form_sig, visit_sig = _latest_valid("crf"), _latest_valid("visit")
    fsig, vsig = aliased(Signature), aliased(Signature)
    return (stmt.add_columns(
                func.coalesce(Participant.participant_code,
                              Screening.screening_number).label("participant_code"),
                Site.code.label("site"), Visit.id.label("vid"),
                Visit.code.label("visit"), CrfEntry.id.label("eid"), CrfEntry.form_code,
                CrfEntry.sequence, fsig.signer_id.label("f_signer"),
                fsig.meaning.label("f_meaning"), fsig.signed_at.label("f_at"),
                vsig.signer_id.label("v_signer"), vsig.meaning.label("v_meaning"),
                vsig.signed_at.label("v_at"))
            .select_from(CrfEntry)
            .outerjoin(Screening, Screening.id == CrfEntry.screening_id)
            .outerjoin(Participant, or_(  # a visit's CRF, or the screening of someone enrolled
                Participant.id == CrfEntry.participant_id,
                and_(CrfEntry.participant_id.is_(None),
                     Participant.screening_id == CrfEntry.screening_id)))
            .join(Site, Site.id == CrfEntry.site_id)
            .outerjoin(Visit, Visit.id == CrfEntry.visit_id)
            .outerjoin(form_sig, form_sig.c.target_id == CrfEntry.id)
            .outerjoin(fsig, fsig.id == form_sig.c.last_id)
            .outerjoin(visit_sig, visit_sig.c.target_id == Visit.id)
            .outerjoin(vsig, vsig.id == visit_sig.c.last_id))


def _streamed(conn: Connection, stmt, version_id: int, site_ids):
    stmt = stmt.where(CrfEntry.protocol_version_id == version_id)
    if site_ids is not None:
        stmt = stmt.where(CrfEntry.site_id.in_(sorted(site_ids)))
    return conn.execution_options(stream_results=True, max_row_buffer=100, yield_per=100).execute(
        stmt)


def _latest_valid(target: str):
    return (select(Signature.target_id, func.max(Signature.id).label("last_id"))
            .where(Signature.target == target, Signature.invalidated_at.is_(None))
            .group_by(Signature.target_id).subquery())


def _subjects(rows, forms: dict[str, FormDef], progress) -> Iterator[str]:
    """SubjectData elements, written as the ordered rows move on; one CRF's items are
    gathered first so that each section's ItemGroupData comes once, in the form's order."""
    subject = visit = None
    entry_rows: list = []
    for r in rows:
        if entry_rows and r.eid != entry_rows[0].eid:
            yield _form_data(forms[entry_rows[0].form_code], entry_rows, progress)
            entry_rows = []
        if r.participant_code != subject:
            yield from _close(visit, subject)
            visit, subject = None, r.participant_code
            yield (f"<SubjectData{_attrs(SubjectKey=subject)}>"
                   f'<SiteRef LocationOID="{location_oid(r.site)}"/>\n')
        event = r.vid if r.vid is not None else f"screening {r.eid}"
        if event != visit:
            yield from _close(visit, None)
            visit = event
            oid = oids.event_oid(r.visit) if r.vid is not None else oids.screening_event_oid()
            yield f"<StudyEventData{_attrs(StudyEventOID=oid)}>"
            yield _signature(r.v_signer, r.v_meaning, r.v_at, r.site)
        entry_rows.append(r)
    if entry_rows:
        yield _form_data(forms[entry_rows[0].form_code], entry_rows, progress)
    yield from _close(visit, subject)


def _form_data(form: FormDef, rows: list, progress) -> str:
    first = rows[0]
    if progress:
        progress(1)
    order = {code: n for n, code in enumerate(form.items)}
    groups = oids.item_group_oids(form)
    by_group: dict[str, list] = {}
    for r in sorted((r for r in rows if r.item_code in order), key=lambda r: order[r.item_code]):
        by_group.setdefault(groups[r.item_code], []).append(r)
    body = "".join(f"<ItemGroupData{_attrs(ItemGroupOID=oid)}>"
                   + "".join(_item(form, r) for r in items) + "</ItemGroupData>"
                   for oid, items in by_group.items())
    head = _attrs(FormOID=oids.form_oid(form.code), FormRepeatKey=first.sequence)
    signature = _signature(first.f_signer, first.f_meaning, first.f_at, first.site)
    return f"<FormData{head}>{signature}{body}</FormData>"


def _close(visit, subject) -> Iterator[str]:
    if visit is not None:
        yield "</StudyEventData>\n"
    if subject is not None:
        yield "</SubjectData>\n"


def _signature(signer_id, meaning, at, site: str) -> str:
    if signer_id is None:
        return ""
    return (f'<Signature><UserRef UserOID="{user_oid(signer_id)}"/>'
            f'<LocationRef LocationOID="{location_oid(site)}"/>'
            f'<SignatureRef SignatureOID="{meaning_oid(meaning)}"/>'
            f"<DateTimeStamp>{_when(at)}</DateTimeStamp></Signature>")


def _item(form: FormDef, r) -> str:
    item = form.items[r.item_code]
    value, unit = r.value, r.unit
    if r.action is not None:  # an audit row: the value as shown then, read back
        value, unit, _ = split_shown(r.value, item.units)
    if item.type.value == "titre" and value and value.startswith("1:"):
        value = value[2:]
    audit = ""
    if r.occurred_at is not None:
        reason = f"<ReasonForChange>{escape(r.reason)}</ReasonForChange>" if r.reason else ""
        audit = (f'<AuditRecord><UserRef UserOID="{user_oid(r.actor_id)}"/>'
                 f'<LocationRef LocationOID="{location_oid(r.site)}"/>'
                 f"<DateTimeStamp>{_when(r.occurred_at)}</DateTimeStamp>{reason}</AuditRecord>")
    unit_ref = f'<MeasurementUnitRef MeasurementUnitOID="{oids.unit_oid(unit)}"/>' if unit \
        else ""
    attrs = {"ItemOID": oids.item_oid(form.code, r.item_code)}
    if r.action is not None:
        attrs["TransactionType"] = "Insert" if r.action == "enter" else "Update"
    if value in (None, ""):
        attrs["IsNull"] = "Yes"
    else:
        attrs["Value"] = value
    return f"<ItemData{_attrs(**attrs)}>{audit}{unit_ref}</ItemData>"
