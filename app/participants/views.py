"""A participant's page, and randomization (the coordinator sees only this assignment)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app import access
from app.access import access as rule
from app.crf.models import CrfEntry
from app.db import db
from app.domain.access import Permission
from app.locks import panels as lock_panels
from app.participants import listing
from app.participants.models import Participant
from app.queries.models import Query
from app.randomization.models import Assignment
from app.screening import services
from app.studies.services import protocol_of
from app.visits import services as visit_services
from app.visits.models import Deviation
from app.visits.views import completion

bp = Blueprint("participants", __name__, url_prefix="/participants")
MAX_PAGE = 100_000  # beyond any list; a larger number is a 404, not a huge OFFSET


class RandomizeForm(FlaskForm):
    on = DateField("Randomization date", validators=[Optional()])


def _load(participant_id: int) -> Participant:
    stmt = select(Participant).where(Participant.id == participant_id)
    return access.get_or_404(db.session, stmt, lambda p: p.site_id, lambda p: p.study_id)


@bp.route("/")
@rule(Permission.VIEW_SITE)
def index():
    number = request.args.get("page", 1, type=int)
    code = (request.args.get("q") or "").strip()[:40] or None
    if number < 1 or number > MAX_PAGE:
        abort(404)
    found = listing.page(db.session,
                         access.site_filter(Participant.site_id, Participant.study_id),
                         access.site_filter(Query.site_id, Query.study_id), number, code)
    if number > found.pages:
        abort(404)
    return render_template("participants/index.html", page=found, code=code or "",
                           show_arms=access.can(Permission.MANAGE_STUDY, anywhere=True))


class UnscheduledForm(FlaskForm):
    on = DateField("Date", validators=[DataRequired(message="Enter the date.")])
    reason = StringField("Reason", validators=[DataRequired(), Length(max=300)])


class WithdrawForm(FlaskForm):
    reason = StringField("Reason for withdrawal", validators=[DataRequired(), Length(max=500)])


@bp.route("/<int:participant_id>")
@rule(Permission.VIEW_SITE)
def detail(participant_id: int):
    return _timeline(_load(participant_id))


def _timeline(participant: Participant, unscheduled_form=None, withdraw_form=None,
              status: int = 200):
    """Every visit with its status, window, actual date and CRF completion."""
    protocol = protocol_of(participant.protocol_version)
    site = participant.site
    today = visit_services.site_today(site)
    entries = _entries_by_visit(participant)
    rows = []
    for visit, state in visit_services.with_status(participant.visits, today,
                                                   site.reminder_lead_days):
        forms = () if visit.unscheduled else protocol.study.schedule.visit(visit.code).forms
        done, total = completion(visit, forms, entries.get(visit.id, {}), protocol)
        rows.append({"visit": visit, "status": state, "done": done, "total": total})
    next_row = next((r for r in rows if r["status"].value in ("due", "overdue", "upcoming",
                                                               "scheduled")), None)
    assignment = db.session.scalar(select(Assignment)
                                   .where(Assignment.participant_id == participant.id))
    panel = lock_panels.participant_context(db.session, participant)
    return render_template(
        "participants/detail.html", participant=participant, protocol=protocol, rows=rows,
        next_row=next_row, today=today, assignment=assignment, form=RandomizeForm(on=today),
        unscheduled_form=unscheduled_form or UnscheduledForm(),
        withdraw_form=withdraw_form or WithdrawForm(),
        deviations=db.session.scalars(select(Deviation).where(
            Deviation.participant_id == participant.id).order_by(Deviation.id)).all(),
        **panel,
        can_enter=access.can(Permission.ENTER_DATA, participant.site_id, participant.study_id)
        and not panel["participant_locks"],
    ), status


def _locked(participant: Participant):
    """The 409 page when the participant (or its study) is locked, else None."""
    back = url_for("participants.detail", participant_id=participant.id)
    return lock_panels.refuse_if_participant_locked(db.session, participant, back)


def _entries_by_visit(participant: Participant) -> dict[int, dict[str, list[CrfEntry]]]:
    rows = db.session.scalars(select(CrfEntry).where(CrfEntry.participant_id == participant.id))
    grouped: dict[int, dict[str, list[CrfEntry]]] = {}
    for row in rows:
        grouped.setdefault(row.visit_id, {}).setdefault(row.form_code, []).append(row)
    return grouped


@bp.route("/<int:participant_id>/unscheduled", methods=["POST"])
@rule(Permission.ENTER_DATA)
def unscheduled(participant_id: int):
    participant = _load(participant_id)
    access.require(Permission.ENTER_DATA, participant.site_id, participant.study_id)
    if refusal := _locked(participant):
        return refusal
    form = UnscheduledForm()
    if not form.validate_on_submit():
        return _timeline(participant, unscheduled_form=form, status=400)
    try:
        visit = visit_services.add_unscheduled(db.session, participant, form.on.data,
                                               form.reason.data, actor=current_user)
    except visit_services.VisitError as exc:
        db.session.rollback()
        form.reason.errors = [str(exc)]
        return _timeline(participant, unscheduled_form=form, status=400)
    db.session.commit()
    flash(f"{visit.code} added; the planned visits stay as they were.", "success")
    return redirect(url_for("visits.detail", visit_id=visit.id))


@bp.route("/<int:participant_id>/withdraw", methods=["POST"])
@rule(Permission.ENTER_DATA)
def withdraw(participant_id: int):
    participant = _load(participant_id)
    access.require(Permission.ENTER_DATA, participant.site_id, participant.study_id)
    if refusal := _locked(participant):
        return refusal
    form = WithdrawForm()
    if not form.validate_on_submit():
        return _timeline(participant, withdraw_form=form, status=400)
    try:
        cancelled = visit_services.withdraw(
            db.session, participant, form.reason.data, actor=current_user,
            today=visit_services.site_today(participant.site))
    except visit_services.VisitError as exc:
        db.session.rollback()
        form.reason.errors = [str(exc)]
        return _timeline(participant, withdraw_form=form, status=400)
    db.session.commit()
    flash(f"{participant.participant_code} withdrawn; {len(cancelled)} visits cancelled, "
          "safety follow-ups kept.", "success")
    return redirect(url_for("participants.detail", participant_id=participant.id))


@bp.route("/<int:participant_id>/randomize", methods=["POST"])
@rule(Permission.ENTER_DATA)
def randomize(participant_id: int):
    participant = _load(participant_id)
    access.require(Permission.ENTER_DATA, participant.site_id, participant.study_id)
    if refusal := _locked(participant):
        return refusal
    if not RandomizeForm().validate_on_submit():
        abort(400)
    try:
        assignment = services.randomize(db.session, participant, actor=current_user,
                                        on=RandomizeForm().on.data)
    except services.ScreeningError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"{participant.participant_code} is allocated to {assignment.arm}.", "success")
    return redirect(url_for("participants.detail", participant_id=participant.id))
