"""JSON shapes of the API: what a participant, a visit and a CRF look like on the wire."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from app.api.problems import Problem
from app.crf.models import CrfEntry
from app.domain.definitions import FormDef, ItemType
from app.domain.schedule import Move
from app.participants.models import Participant
from app.visits import services as visit_services
from app.visits.models import Visit


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def participant(p: Participant) -> dict[str, Any]:
    """No arm: allocation stays concealed from the API as it is on screen."""
    return {"id": p.id, "participant_code": p.participant_code, "study": p.study.code,
            "site": p.site.code, "subgroup": p.subgroup, "start_date": _day(p.start_date),
            "enrolled_at": p.enrolled_at.isoformat(), "withdrawn": p.withdrawn_at is not None}


def visit(v: Visit, today: date) -> dict[str, Any]:
    lead = v.participant.site.reminder_lead_days
    return {"id": v.id, "participant_id": v.participant_id, "code": v.code, "name": v.name,
            "target_date": _day(v.target_date), "window_start": _day(v.window_start),
            "window_end": _day(v.window_end), "window_ours": v.window_ours,
            "unscheduled": v.unscheduled, "actual_date": _day(v.actual_date),
            "not_done_reason": v.not_done_reason,
            "status": visit_services.visit_status(v, today, lead).value}


def move(m: Move) -> dict[str, Any]:
    return {"code": m.code, "old_target": _day(m.old.target), "new_target": _day(m.new.target)}


def form_summary(form: FormDef, entries: list[CrfEntry]) -> dict[str, Any]:
    return {"code": form.code, "title": form.title, "repeating": form.repeating,
            "instances": [e.sequence for e in entries]}


def crf(form: FormDef, sequence: int, entry: CrfEntry | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if entry is not None:
        stored = {v.item_code: v for v in entry.values}
        for code, row in stored.items():
            if row.value is None:
                continue
            values[code] = {"value": row.value, "unit": row.unit, "uln": row.uln,
                            "standard_value": _number(row.canonical_value),
                            "standard_unit": row.canonical_unit}
    return {"form": form.code, "sequence": sequence, "version": entry.version if entry else 0,
            "values": values}


def _number(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def raw_values(form: FormDef, incoming: Any) -> dict[str, Any]:
    """The request's values in the shape the CRF parser reads; unknown items are refused."""
    if incoming is None:
        return {}
    if not isinstance(incoming, dict):
        raise Problem(422, "values must be an object of item code to value.")
    unknown = sorted(set(incoming) - set(form.items))
    if unknown:
        raise Problem(422, "Unknown items for this form.",
                      {code: "Not an item of this form." for code in unknown})
    derived = sorted(c for c in incoming if form.items[c].derived is not None)
    if derived:
        raise Problem(422, "Derived items are computed, not entered.",
                      {code: "Computed from other items." for code in derived})
    return {code: _raw(form.items[code].type, value) for code, value in incoming.items()}


def _raw(kind: ItemType, value: Any) -> Any:
    """JSON numbers become text (no binary fractions); a quantity is {value, unit, uln}."""
    if isinstance(value, dict) and kind is ItemType.QUANTITY:
        return {k: _scalar(value.get(k)) for k in ("value", "unit", "uln")}
    if kind is ItemType.QUANTITY and value is not None:
        return {"value": _scalar(value), "unit": None, "uln": None}
    return _scalar(value)


def _scalar(value: Any) -> Any:
    """Numbers become text; anything else is passed on for the parser to accept or refuse."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return value
    return repr(value) if isinstance(value, float) else str(value)
