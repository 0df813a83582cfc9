"""Calendar subscriptions: per-user and per-site iCalendar feeds behind a secret token."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("feeds", __name__, url_prefix="/feeds")
