"""Site calendars (month, week, agenda), today's worklist and the missed-visits list."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("calendar", __name__, url_prefix="/calendar")
