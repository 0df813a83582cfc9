"""Study dashboards: enrolment against target, over time, visit compliance, per site."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
