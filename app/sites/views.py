from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from app import access
from app.access import access as rule
from app.db import db
from app.domain.access import Permission
from app.sites.models import Site

bp = Blueprint("sites", __name__)


@bp.route("/")
@rule(access.SIGNED_IN)
def home():
    sites = db.session.scalars(access.scope(select(Site), Site.id).order_by(Site.code)).all()
    return render_template("sites/home.html", sites=sites)


@bp.route("/sites/<code>")
@rule(Permission.VIEW_SITE)
def detail(code: str):
    site = access.get_or_404(db.session, select(Site).where(Site.code == code), lambda s: s.id)
    return render_template("sites/detail.html", site=site)
