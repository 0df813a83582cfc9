"""Loaded studies, and the data manager's randomization seed."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField
from wtforms.validators import DataRequired, Length

from app import access
from app.access import access as rule
from app.db import db
from app.domain.access import Permission
from app.locks import panels as lock_panels
from app.randomization.models import RandomizationScheme
from app.screening import services as screening
from app.studies.models import Study
from app.studies.services import current_versions, latest_version, protocol_of

bp = Blueprint("studies", __name__, url_prefix="/studies")


class SeedForm(FlaskForm):
    seed = PasswordField("Randomization seed (kept secret; cannot be changed once set)",
                         validators=[DataRequired(), Length(min=12, max=200)])


@bp.route("/")
@rule(Permission.VIEW_SITE)
def index():
    versions = current_versions(db.session)
    return render_template("studies/index.html",
                           studies=[(v, protocol_of(v)) for v in versions],
                           **lock_panels.studies_context(db.session,
                                                         [v.study_id for v in versions]))


@bp.route("/<code>/randomization", methods=["GET", "POST"])
@rule(Permission.MANAGE_STUDY)
def randomization(code: str):
    study = db.session.scalar(select(Study).where(Study.code == code)) or abort(404)
    access.require(Permission.MANAGE_STUDY, None, study.id)  # the seed is study-wide
    version = latest_version(db.session, study.id) or abort(404)
    if protocol_of(version).study.randomization is None:
        abort(404)
    scheme = db.session.scalar(select(RandomizationScheme)
                               .where(RandomizationScheme.study_id == study.id))
    form = SeedForm()
    if scheme is None and form.validate_on_submit():
        try:
            screening.set_seed(db.session, study.id, form.seed.data, actor=current_user)
        except screening.ScreeningError as exc:
            form.seed.errors.append(str(exc))
        else:
            db.session.commit()
            flash("Seed set. Coordinators can now randomize.", "success")
            return redirect(url_for("studies.randomization", code=code))
    return render_template("studies/randomization.html", study=study, scheme=scheme, form=form)
