"""Study dashboards: enrolment against target, over time, visit compliance, per site."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from app import access
from app.access import access as rule
from app.dashboard import queries
from app.db import db
from app.domain.access import Permission
from app.domain.charts import bar_chart, line_chart
from app.model_base import utcnow
from app.studies.models import Study
from app.studies.services import current_versions, protocol_of

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.route("/")
@rule(Permission.VIEW_SITE)
def index():
    """The loaded studies, each with its enrolment at the user's sites and its target."""
    enrolled = queries.enrolled_per_study(db.session)
    studies = [(v, protocol_of(v), enrolled.get(v.study_id, 0))
               for v in current_versions(db.session)]
    return render_template("dashboard/index.html", studies=studies,
                           all_sites=access.visible_sites().all_sites)


@bp.route("/<code>")
@rule(Permission.VIEW_SITE)
def study(code: str):
    found = db.session.scalar(select(Study).where(Study.code == code))
    if found is None:
        abort(404)
    versions = queries.study_versions(db.session, found)
    if not versions:
        abort(404)
    now = utcnow()
    board = queries.build(db.session, found, versions,
                          show_arms=access.can(Permission.MANAGE_STUDY, anywhere=True),
                          until=(now.year, now.month))
    charts = {
        "months": line_chart(
            [(month, cumulative) for month, _new, cumulative in board.months],
            title=f"{found.code}: participants enrolled, cumulative, per month",
            y_label="Enrolled", target=board.target,
            empty="Nobody enrolled yet at your sites"),
        "sites": bar_chart(
            [(row.site.code, row.counts.enrolled) for row in board.sites],
            title=f"{found.code}: participants enrolled per site", y_label="Enrolled",
            empty="No screening at your sites yet"),
    }
    return render_template("dashboard/study.html", board=board, study=found, charts=charts,
                           all_sites=access.visible_sites().all_sites)
