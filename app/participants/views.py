"""A participant's page, and randomization (the coordinator sees only this assignment)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from app import access
from app.access import access as rule
from app.db import db
from app.domain.access import Permission
from app.participants.models import Participant
from app.randomization.models import Assignment
from app.screening import services
from app.studies.services import protocol_of

bp = Blueprint("participants", __name__, url_prefix="/participants")


class RandomizeForm(FlaskForm):
    """A button and its token."""


def _load(participant_id: int) -> Participant:
    stmt = select(Participant).where(Participant.id == participant_id)
    return access.get_or_404(db.session, stmt, lambda p: p.site_id)


@bp.route("/")
@rule(Permission.VIEW_SITE)
def index():
    rows = db.session.scalars(access.scope(select(Participant), Participant.site_id)
                              .order_by(Participant.enrolled_at.desc())).all()
    return render_template("participants/index.html", participants=rows)


@bp.route("/<int:participant_id>")
@rule(Permission.VIEW_SITE)
def detail(participant_id: int):
    participant = _load(participant_id)
    protocol = protocol_of(participant.protocol_version)
    assignment = db.session.scalar(select(Assignment)
                                   .where(Assignment.participant_id == participant.id))
    return render_template("participants/detail.html", participant=participant,
                           protocol=protocol, assignment=assignment, form=RandomizeForm(),
                           can_randomize=access.can(Permission.ENTER_DATA, participant.site_id))


@bp.route("/<int:participant_id>/randomize", methods=["POST"])
@rule(Permission.ENTER_DATA)
def randomize(participant_id: int):
    participant = _load(participant_id)
    access.require(Permission.ENTER_DATA, participant.site_id)
    if not RandomizeForm().validate_on_submit():
        abort(400)
    try:
        assignment = services.randomize(db.session, participant, actor=current_user)
    except services.ScreeningError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"{participant.participant_code} is allocated to {assignment.arm}.", "success")
    return redirect(url_for("participants.detail", participant_id=participant.id))
