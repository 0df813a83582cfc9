"""Per-site sequences: participant numbers and randomization positions."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.participants.models import SiteSequence


def next_value(session: Session, site_id: int, study_id: int, name: str) -> int:
    """The next number of a counter; safe under concurrent writers on SQLite and PostgreSQL."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(SiteSequence).values(site_id=site_id, study_id=study_id, name=name,
                                                last_value=0).on_conflict_do_nothing())
    return session.execute(
        update(SiteSequence)
        .where(SiteSequence.site_id == site_id, SiteSequence.study_id == study_id,
               SiteSequence.name == name)
        .values(last_value=SiteSequence.last_value + 1)
        .returning(SiteSequence.last_value)
    ).scalar_one()
