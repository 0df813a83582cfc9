"""The exports page: a data manager downloads a study's data for their sites."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, Response, abort, current_app, render_template, stream_with_context
from flask_login import current_user
from sqlalchemy import select

from app import access
from app.access import access as rule
from app.audit import services as audit
from app.db import db
from app.domain.access import Permission, SiteScope
from app.exports.csv_export import csv_zip
from app.exports.odm_data import odm_data
from app.model_base import utcnow
from app.studies.models import Study

bp = Blueprint("exports", __name__, url_prefix="/exports")


def _any_site(scope: SiteScope) -> bool:
    return scope.all_sites or bool(scope.site_ids)


def _exportable(study: Study) -> frozenset[int] | None:
    """The sites whose data the user may export for `study` (None: every site); 404 if none."""
    scope = access.sites_where(Permission.EXPORT, study.id)
    if not _any_site(scope):
        abort(404)
    return None if scope.all_sites else scope.site_ids


@bp.route("/")
@rule(Permission.EXPORT)
def index():
    studies = [s for s in db.session.scalars(select(Study).order_by(Study.code))
               if _any_site(access.sites_where(Permission.EXPORT, s.id))]
    return render_template("exports/index.html", studies=studies)


FORMATS = {"csv.zip": ("CSV", csv_zip, "application/zip"),
           "odm.xml": ("ODM", odm_data, "application/xml"),
           "odm-history.xml": ("ODM with the full audit trail",
                               partial(odm_data, history=True), "application/xml")}


@bp.route("/<code>.<any('csv.zip', 'odm.xml', 'odm-history.xml'):fmt>")
@rule(Permission.EXPORT)
def download(code: str, fmt: str):
    study = db.session.scalar(select(Study).where(Study.code == code)) or abort(404)
    site_ids = _exportable(study)
    label, writer, mimetype = FORMATS[fmt]
    with db.writing() as session:  # who took which data out, before the first byte leaves
        audit.record_event(session, "export", actor=current_user, entity_type="studies",
                           entity_id=study.id, detail=f"{label} of {code}; sites: "
                           f"{'all' if site_ids is None else sorted(site_ids)}")
    engine = current_app.extensions["db_engine"]
    stamp = utcnow().strftime("%Y%m%dT%H%MZ")
    name = f"{code}-{stamp}.{fmt.split('.')[-1]}"
    return Response(stream_with_context(writer(engine, code, site_ids)), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
