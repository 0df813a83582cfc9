"""Data clarification queries: raised on an item, answered, closed or reopened."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.auth.models import User
from app.crf.models import CrfEntry
from app.domain.audit import FieldChange
from app.domain.definitions import FormDef
from app.domain.values import Entry


def after_save(session: Session, entry: CrfEntry, form: FormDef, parsed: Entry,
               changes: list[FieldChange], actor: User) -> None:
    """Open a query for each saved value outside its soft range (once per item)."""
    return None  # filled in with the queries feature
