"""Storing protocol versions and getting the definition a participant was enrolled under."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.domain.definitions import Protocol
from app.studies import loader
from app.studies.models import ProtocolVersion, Study


@dataclass(frozen=True)
class LoadReport:
    code: str
    version: int
    changed: bool


def read_definitions(schedules_dir: str | Path, forms_dir: str | Path) -> list[Protocol]:
    """Every study in the folders; raises DefinitionInvalid listing every error."""
    protocols, errors = loader.load_all(Path(schedules_dir), Path(forms_dir))
    if errors:
        raise loader.DefinitionInvalid(errors)
    return protocols


def store(session: Session, protocol: Protocol) -> LoadReport:
    """Record the protocol; a new version only when its content differs from the latest."""
    head = protocol.study
    study = session.scalar(select(Study).where(Study.code == head.code))
    if study is None:
        study = Study(code=head.code, title=head.title, registry_id=head.registry_id)
        session.add(study)
        session.flush()
    else:
        study.title, study.registry_id = head.title, head.registry_id
    latest = latest_version(session, study.id)
    if latest is not None and latest.content_hash == protocol.content_hash:
        return LoadReport(head.code, latest.version, changed=False)
    number = (latest.version if latest else 0) + 1
    row = ProtocolVersion(study_id=study.id, version=number, content_hash=protocol.content_hash,
                          documents=protocol.documents)
    session.add(row)
    session.flush()
    audit.record_event(session, "protocol_loaded", actor=None, entity_type="studies",
                       entity_id=study.id, detail=f"{head.code} version {number} "
                       f"({protocol.content_hash[:12]})")
    return LoadReport(head.code, number, changed=True)


def latest_version(session: Session, study_id: int) -> ProtocolVersion | None:
    return session.scalar(select(ProtocolVersion).where(ProtocolVersion.study_id == study_id)
                          .order_by(ProtocolVersion.version.desc()).limit(1))


def current_versions(session: Session) -> list[ProtocolVersion]:
    newest = (select(ProtocolVersion.study_id, func.max(ProtocolVersion.version).label("v"))
              .group_by(ProtocolVersion.study_id).subquery())
    stmt = (select(ProtocolVersion)
            .join(newest, (ProtocolVersion.study_id == newest.c.study_id)
                  & (ProtocolVersion.version == newest.c.v))
            .join(Study).order_by(Study.code))
    return list(session.scalars(stmt))


_BUILT: dict[str, Protocol] = {}  # by content hash: a stored version never changes


def protocol_of(version: ProtocolVersion) -> Protocol:
    """The definition a stored version was loaded with, rebuilt from its own documents."""
    protocol = _BUILT.get(version.content_hash)
    if protocol is None:
        protocol = _BUILT[version.content_hash] = loader.build(version.documents)
    return protocol
