"""Many participants quickly: plain multi-row INSERTs, for tests that need a large study.

Rows are realistic in shape (screening, participant, visits, a LAB CRF with values in the
site's units and in the protocol's) but not planned by the scheduler: the point is volume.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from app.crf.models import CrfEntry, ItemValue
from app.participants.models import Participant
from app.screening.models import Screening
from app.studies.models import ProtocolVersion
from app.visits.models import Visit

VISITS = (("BL", 0), ("W4", 28), ("W12", 84), ("W24", 168))
LAB = (("HGB", "12.5", "g/dL", "12.5"), ("WBC", "5.2", "10^9/L", "5200"),
       ("PLAT", "210", "10^3/uL", "210000"), ("NEUT", "3100", "/uL", "3100"),
       ("LYM", "1500", "/uL", "1500"), ("CREAT", "0.9", "mg/dL", "79.6"))
BATCH = 2000


def _next_id(session: Session, model) -> int:
    return (session.scalar(select(func.max(model.id))) or 0) + 1


def _insert(session: Session, model, rows: Iterator[dict]) -> None:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            session.execute(insert(model), batch)
            batch = []
    if batch:
        session.execute(insert(model), batch)


def add_participants(session: Session, version: ProtocolVersion, site_id: int, actor_id: int,
                     count: int, start: date, prefix: str = "BULK") -> None:
    """`count` participants, each with four visits done and a LAB CRF at each."""
    first = {m: _next_id(session, m) for m in (Screening, Participant, Visit, CrfEntry)}
    ids = range(count)
    _insert(session, Screening, (
        {"id": first[Screening] + n, "site_id": site_id, "study_id": version.study_id,
         "protocol_version_id": version.id, "screening_number": f"{prefix}{n:06d}",
         "status": "enrolled", "started_by_id": actor_id} for n in ids))
    _insert(session, Participant, (
        {"id": first[Participant] + n, "site_id": site_id, "study_id": version.study_id,
         "protocol_version_id": version.id, "screening_id": first[Screening] + n,
         "participant_code": f"{prefix}-{n:06d}", "enrolled_by_id": actor_id,
         "start_date": start} for n in ids))
    _insert(session, Visit, (
        {"id": first[Visit] + n * len(VISITS) + k, "participant_id": first[Participant] + n,
         "site_id": site_id, "code": code, "name": f"Visit {code}", "anchor": "BL",
         "target_date": start + timedelta(days=day), "window_start": start + timedelta(day - 3),
         "window_end": start + timedelta(days=day + 3),
         "actual_date": start + timedelta(days=day)}
        for n in ids for k, (code, day) in enumerate(VISITS)))
    visits = range(count * len(VISITS))  # one LAB CRF per visit, entry n at visit n
    _insert(session, CrfEntry, (
        {"id": first[CrfEntry] + n, "site_id": site_id, "protocol_version_id": version.id,
         "form_code": "LAB", "participant_id": first[Participant] + n // len(VISITS),
         "visit_id": first[Visit] + n, "sequence": 1} for n in visits))
    _insert(session, ItemValue, (
        {"entry_id": first[CrfEntry] + n, "item_code": code, "value": value, "unit": unit,
         "canonical_value": Decimal(std), "canonical_unit": unit}
        for n in visits for code, value, unit, std in LAB))
    _advance_sequences(session, (Screening, Participant, Visit, CrfEntry, ItemValue))


def _advance_sequences(session: Session, models) -> None:
    """PostgreSQL: the ids were given explicitly, so move each id sequence past them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in models:
        table = model.__tablename__
        session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"(SELECT max(id) FROM {table}))"))
