"""CDISC ODM 1.3.2 clinical data, streamed: every CRF of a study, screening and visits.

Each ItemData carries the value as entered with its unit, and the AuditRecord of its last
change (who, where, when, why); each FormData and StudyEventData carries its investigator's
signature while that is valid. AdminData names the users, sites and signature meanings the
records point at. OIDs are those of the metadata export (app/odm/oids.py).

Rows come from server-side cursors, ordered (app/exports/odm_rows.py); the XML is written as
they are read (app/exports/odm_xml.py), so memory does not grow with the study.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from xml.sax.saxutils import escape

from sqlalchemy import Connection, Engine, select, true
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.auth.models import User
from app.crf.models import CrfEntry
from app.exports.csv_export import ExportError, Progress, snapshot
from app.exports.odm_rows import instances
from app.exports.odm_xml import (
    FormWriter,
    attrs,
    location_oid,
    meaning_oid,
    signature,
    user_oid,
    when,
)
from app.model_base import utcnow
from app.odm import oids
from app.signatures.models import Signature
from app.sites.models import Site
from app.studies.models import ProtocolVersion, Study
from app.studies.services import protocol_of

NS = "http://www.cdisc.org/ns/odm/v1.3"
CHUNK = 8 * 1024
LEGAL_REASON = "Electronic signature (21 CFR Part 11): the signer entered their password again"


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
        head = attrs(xmlns=NS, FileType="Transactional" if history else "Snapshot",
                     Granularity="AllClinicalData",
                     FileOID=oids.file_oid(study.code, now) + ".data",
                     CreationDateTime=when(now), ODMVersion="1.3.2", Originator="Lupus eCRF")
        parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<ODM{head}>\n']
        parts += _admin(conn, study, versions, site_ids, now)
        # the header leaves before the sorted instances are read: the download starts at once
        yield "".join(parts).encode()
        parts, size = [], 0  # size: of the fragments waiting in `parts`, counted as they come
        for version_id, number in versions:
            clinical = attrs(StudyOID=oids.study_oid(study.code),
                             MetaDataVersionOID=oids.metadata_version_oid(study.code, number))
            parts.append(f"<ClinicalData{clinical}>\n")
            forms = protocol_of(session.get(ProtocolVersion, version_id)).forms
            entries = instances(conn, version_id, site_ids, history)
            try:  # a client that goes away mid-file must not leave a server cursor open
                for fragment in _subjects(entries, _Writers(forms), progress):
                    parts.append(fragment)
                    size += len(fragment)
                    if size >= CHUNK:
                        yield "".join(parts).encode()
                        parts, size = [], 0
            finally:
                entries.close()
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
    out = [f"<AdminData{attrs(StudyOID=oids.study_oid(study.code))}>\n"]
    out += [f'<User OID="{user_oid(u.id)}"><LoginName>{escape(u.username)}</LoginName>'
            f"<FullName>{escape(u.full_name)}</FullName></User>\n" for u in users]
    out.append(f'<User OID="{user_oid(None)}"><LoginName>system</LoginName></User>\n')
    refs = "".join("<MetaDataVersionRef" + attrs(
        StudyOID=oids.study_oid(study.code),
        MetaDataVersionOID=oids.metadata_version_oid(study.code, number),
        EffectiveDate=now.date().isoformat()) + "/>" for _, number in versions)
    out += ["<Location" + attrs(OID=location_oid(s.code), Name=s.name, LocationType="Site")
            + f">{refs}</Location>\n" for s in sites]
    out += ["<SignatureDef" + attrs(OID=meaning_oid(m), Methodology="Electronic")
            + f"><Meaning>{escape(m)}</Meaning><LegalReason>{LEGAL_REASON}</LegalReason>"
            "</SignatureDef>\n" for m in meanings]
    out.append("</AdminData>\n")
    return out


class _Writers(dict):
    """A FormWriter per form code, made when the form's first instance comes."""

    def __init__(self, forms) -> None:
        super().__init__()
        self.forms = forms

    def __missing__(self, code: str) -> FormWriter:
        writer = self[code] = FormWriter(self.forms[code])
        return writer


def _subjects(instances, writers: _Writers, progress) -> Iterator[str]:
    """SubjectData elements, written as the ordered instances move on."""
    subject = visit = None
    for e, rows in instances:
        if e.participant_code != subject:
            yield from _close(visit, subject)
            visit, subject = None, e.participant_code
            yield (f"<SubjectData{attrs(SubjectKey=subject)}>"
                   f'<SiteRef LocationOID="{location_oid(e.site)}"/>\n')
        event = e.vid if e.vid is not None else f"screening {e.eid}"
        if event != visit:
            yield from _close(visit, None)
            visit = event
            oid = oids.event_oid(e.visit) if e.vid is not None else oids.screening_event_oid()
            yield f"<StudyEventData{attrs(StudyEventOID=oid)}>"
            yield signature(e.v_signer, e.v_meaning, e.v_at, e.site)
        if progress:
            progress(1)
        yield writers[e.form_code].form_data(e, rows)
    yield from _close(visit, subject)


def _close(visit, subject) -> Iterator[str]:
    if visit is not None:
        yield "</StudyEventData>\n"
    if subject is not None:
        yield "</SubjectData>\n"
