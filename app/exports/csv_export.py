"""The CSV export: a zip of one file per CRF, a visits file and a data dictionary, streamed.

Rows come from server-side cursors and leave as zip chunks as they are written, so memory
does not grow with the study and the first bytes leave at once. Everything is read in one
transaction, so the files agree with each other.
"""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from app.crf.models import CrfEntry, ItemValue
from app.domain import tabular
from app.domain.definitions import FormDef, Section
from app.domain.schedule import status
from app.model_base import utcnow
from app.participants.models import Participant
from app.screening.models import Screening
from app.sites.models import Site
from app.studies.models import ProtocolVersion, Study
from app.studies.services import protocol_of
from app.visits.models import Visit

CHUNK = 8 * 1024
EARLIER_ITEMS = "Items of earlier protocol versions"
Progress = Callable[[int], None]  # called with the number of rows just written


class ExportError(Exception):
    pass


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """One read transaction for the whole export (a consistent snapshot on both databases)."""
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" \
        else {}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        yield conn


class _Sink(io.RawIOBase):
    """What the zip writer writes into; the generator hands out what has piled up."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def take(self) -> bytes:
        out, self._parts, self.size = b"".join(self._parts), [], 0
        return out


def study_forms(session: Session, study: Study) -> list[FormDef]:
    """Every form of every version of the study: the latest version's definition, plus a
    last section holding the items only earlier versions had (their data is exported too)."""
    versions = session.scalars(select(ProtocolVersion).where(ProtocolVersion.study_id == study.id)
                               .order_by(ProtocolVersion.version.desc()))
    forms: dict[str, FormDef] = {}
    for version in versions:
        for code, form in protocol_of(version).forms.items():
            forms[code] = form if code not in forms else _with_items_of(forms[code], form)
    return list(forms.values())


def _with_items_of(latest: FormDef, older: FormDef) -> FormDef:
    extra = tuple(item for code, item in older.items.items() if code not in latest.items)
    if not extra:
        return latest
    return replace(latest, sections=(*latest.sections, Section(EARLIER_ITEMS, extra)))


def count_rows(conn: Connection, study: Study, site_ids: frozenset[int] | None,
               with_visits: bool = True) -> int:
    """How many rows the export writes (CRF instances, and visits for the CSV export): the
    progress bar's total."""
    entries = _scoped(select(func.count(CrfEntry.id)).join(
        ProtocolVersion, ProtocolVersion.id == CrfEntry.protocol_version_id)
        .where(ProtocolVersion.study_id == study.id), CrfEntry.site_id, site_ids)
    visits = _scoped(select(func.count(Visit.id)).join(Participant)
                     .where(Participant.study_id == study.id), Visit.site_id, site_ids)
    return conn.scalar(entries) + (conn.scalar(visits) if with_visits else 0)


def csv_zip(engine: Engine, study_code: str, site_ids: frozenset[int] | None,
            progress: Progress | None = None) -> Iterator[bytes]:
    """The zip, chunk by chunk; `site_ids` None means every site."""
    with snapshot(engine) as conn:
        session = Session(bind=conn)
        study = session.scalar(select(Study).where(Study.code == study_code))
        if study is None:
            raise ExportError(f"No study {study_code!r}.")
        forms = study_forms(session, study)
        sink = _Sink()
        with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
            for form in forms:
                rows = _form_rows(conn, study, form, site_ids)
                yield from _write(archive, sink, f"{form.code}.csv", tabular.header(form), rows,
                                  progress)
            yield from _write(archive, sink, "visits.csv", tabular.VISITS_HEADER,
                              _visit_rows(conn, study, site_ids), progress)
            yield from _write(archive, sink, "data_dictionary.csv", tabular.DICTIONARY_HEADER,
                              tabular.dictionary(forms), None)
        yield sink.take()


def _write(archive: zipfile.ZipFile, sink: _Sink, name: str, head, rows, progress):
    member = zipfile.ZipInfo(name, date_time=utcnow().timetuple()[:6])
    member.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(member, "w", force_zip64=True) as raw, \
            io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
        writer = csv.writer(text)
        writer.writerow(head)
        for batch in _batches(rows, 20):
            writer.writerows(batch)
            if progress:
                progress(len(batch))
            if sink.size >= CHUNK:
                text.flush()
                yield sink.take()
    if sink.size:
        yield sink.take()


def _batches(rows, size: int):
    rows = iter(rows)
    while batch := list(itertools.islice(rows, size)):
        yield batch


def _scoped(stmt, site_column, site_ids: frozenset[int] | None):
    return stmt if site_ids is None else stmt.where(site_column.in_(sorted(site_ids)))


def _streamed(conn: Connection, stmt):
    return conn.execution_options(stream_results=True, max_row_buffer=100, yield_per=100).execute(
        stmt)


def _form_rows(conn: Connection, study: Study, form: FormDef,
               site_ids: frozenset[int] | None) -> Iterator[list[str]]:
    cols = tabular.columns(form)
    stmt = _scoped(
        select(CrfEntry.id, Site.code.label("site"),
               func.coalesce(Participant.participant_code,
                             Screening.screening_number).label("subject"),
               Visit.code.label("visit"), Visit.name.label("visit_name"), CrfEntry.sequence,
               CrfEntry.version, CrfEntry.updated_at,
               ItemValue.item_code, ItemValue.value, ItemValue.unit, ItemValue.uln,
               ItemValue.canonical_value)
        .join(Site, Site.id == CrfEntry.site_id)
        .join(ProtocolVersion, ProtocolVersion.id == CrfEntry.protocol_version_id)
        .outerjoin(Participant, Participant.id == CrfEntry.participant_id)
        .outerjoin(Screening, Screening.id == CrfEntry.screening_id)
        .outerjoin(Visit, Visit.id == CrfEntry.visit_id)
        .outerjoin(ItemValue, ItemValue.entry_id == CrfEntry.id)
        .where(ProtocolVersion.study_id == study.id, CrfEntry.form_code == form.code)
        .order_by(CrfEntry.id, ItemValue.id), CrfEntry.site_id, site_ids)
    result = _streamed(conn, stmt)
    try:
        yield from _instances(study, cols, result)
    finally:  # a client that goes away mid-file must not leave a server cursor open
        result.close()


def _instances(study: Study, cols, result) -> Iterator[list[str]]:
    for _, group in itertools.groupby(result, key=lambda r: r[0]):
        rows = list(group)
        r = rows[0]
        values = {v.item_code: tabular.StoredValue(v.value, v.unit, v.uln, v.canonical_value)
                  for v in rows if v.item_code is not None}
        keys = (study.code, r.site, r.subject, r.visit, r.visit_name, r.sequence, r.version,
                r.updated_at)
        yield tabular.row(keys, cols, values)


def _visit_rows(conn: Connection, study: Study,
                site_ids: frozenset[int] | None) -> Iterator[list[str]]:
    stmt = _scoped(
        select(Site.code.label("site"), Site.timezone, Site.reminder_lead_days,
               Participant.participant_code, Visit.code.label("visit"), Visit.name,
               Visit.anchor, Visit.target_date, Visit.window_start,
               Visit.window_end, Visit.window_ours, Visit.unscheduled, Visit.actual_date,
               Visit.not_done_reason, Visit.cancelled_at)
        .join(Participant, Participant.id == Visit.participant_id)
        .join(Site, Site.id == Visit.site_id)
        .where(Participant.study_id == study.id)
        .order_by(Participant.id, Visit.target_date, Visit.id), Visit.site_id, site_ids)
    result = _streamed(conn, stmt)
    try:
        yield from _visit_cells(study, result)
    finally:
        result.close()


def _visit_cells(study: Study, result) -> Iterator[list[str]]:
    now = utcnow()
    today_at: dict[str, object] = {}
    for r in result:
        today = today_at.get(r.timezone) or today_at.setdefault(
            r.timezone, now.astimezone(ZoneInfo(r.timezone)).date())
        state = status(r.window_start, r.target_date, r.window_end, today,
                       r.reminder_lead_days, actual=r.actual_date,
                       not_done=r.not_done_reason is not None, cancelled=r.cancelled_at is not None)
        keys = (study.code, r.site, r.participant_code, r.visit, r.name, r.anchor, r.target_date,
                r.window_start, r.window_end, r.window_ours, r.unscheduled, r.actual_date,
                r.not_done_reason, state.value)
        yield tabular.row(keys, [], {})
