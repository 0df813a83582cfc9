"""Screening in the browser: start, fill the CRF, see each criterion, decide, enrol."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app import access
from app.access import access as rule
from app.audit.services import ConflictError, ReasonRequired
from app.audit.services import history as audit_history
from app.crf import services as crf_services
from app.crf.forms import bind
from app.db import db
from app.domain.access import Permission
from app.locks import panels as lock_panels
from app.locks import services as locks
from app.screening import services
from app.screening.models import Screening
from app.sites.models import Site
from app.studies.services import current_versions
from app.visits.services import site_today

bp = Blueprint("screening", __name__, url_prefix="/screening")


class StartForm(FlaskForm):
    study = SelectField("Study", validate_choice=True)
    site = SelectField("Site", validate_choice=True)
    screening_number = StringField("Screening number", validators=[DataRequired(),
                                                                   Length(max=40)])


class SubgroupForm(FlaskForm):
    subgroup = SelectField("Sub-group", validate_choice=True)


class DecisionForm(FlaskForm):
    """Fail or enrol: the button carries the decision; the token guards it."""

    on = DateField("Enrolment date (day 0 of the visit plan)", validators=[Optional()])


def _load(screening_id: int) -> Screening:
    stmt = select(Screening).where(Screening.id == screening_id)
    return access.get_or_404(db.session, stmt, lambda s: s.site_id, lambda s: s.study_id)


def _entry_sites() -> list[Site]:
    sites = db.session.scalars(access.scope(select(Site), Site.id).order_by(Site.code))
    return [s for s in sites if access.can(Permission.ENTER_DATA, s.id)]


@bp.route("/")
@rule(Permission.VIEW_SITE)
def log():
    """The screening log: candidates screened at one site (?site=CODE) or all the user's."""
    stmt = access.scope(select(Screening), Screening.site_id, Screening.study_id)
    site_code = request.args.get("site")
    if site_code:
        stmt = stmt.join(Site).where(Site.code == site_code)
    rows = db.session.scalars(stmt.order_by(Screening.started_at.desc())).all()
    return render_template("screening/log.html", screenings=rows, site_code=site_code)


@bp.route("/new", methods=["GET", "POST"])
@rule(Permission.ENTER_DATA)
def start():
    versions = {v.study.code: v for v in current_versions(db.session)}
    sites = {s.code: s for s in _entry_sites()}
    form = StartForm()
    form.study.choices = [SelectChoice(c, f"{c} · {v.study.title[:80]}")
                          for c, v in versions.items()]
    form.site.choices = [SelectChoice(c, f"{c} · {s.name}") for c, s in sites.items()]
    if form.validate_on_submit() and not access.can(
            Permission.ENTER_DATA, sites[form.site.data].id, versions[form.study.data].study_id):
        form.study.errors.append("You hold no data-entry role for this study at this site.")
    elif form.validate_on_submit():
        try:
            screening = services.start(db.session, versions[form.study.data],
                                       sites[form.site.data], form.screening_number.data,
                                       actor=current_user)
        except services.ScreeningError as exc:
            getattr(form, exc.field or "screening_number").errors.append(str(exc))
        except locks.Locked as exc:
            db.session.rollback()
            form.study.errors.append(str(exc))
        else:
            db.session.commit()
            return redirect(url_for("screening.detail", screening_id=screening.id))
    return render_template("screening/start.html", form=form)


def _crf_form(screening: Screening, formdata=None):
    return bind(services.protocol(screening).screening, screening.entry.raw_values(),
                screening.entry.version, formdata)


def _render(screening: Screening, crf_form, status: int = 200, conflict: bool = False):
    protocol = services.protocol(screening)
    subgroup_form = SubgroupForm(subgroup=screening.subgroup)
    subgroup_form.subgroup.choices = [SelectChoice(s.code, s.name)
                                      for s in protocol.study.subgroups]
    definition = protocol.screening
    typed = crf_services.typed_values(definition, screening.entry).values
    derived = {c: typed.get(c) for c, item in definition.items.items() if item.derived}
    writable = locks.lock_over(db.session, screening.entry) is None
    return render_template(
        "screening/detail.html", screening=screening, protocol=protocol, form=crf_form,
        derived=derived, stored=_shown_values(screening) if conflict else {},
        verdict=services.verdict(screening), subgroup_form=subgroup_form,
        decision_form=DecisionForm(on=site_today(screening.site)), conflict=conflict,
        can_enroll=access.can(Permission.SIGN, screening.site_id, screening.study_id)
        and writable,
        can_enter=access.can(Permission.ENTER_DATA, screening.site_id, screening.study_id)
        and writable,
    ), status


def _shown_values(screening: Screening) -> dict[str, str]:
    db.session.refresh(screening.entry)
    return {v.item_code: v.shown() for v in screening.entry.values}


@bp.route("/<int:screening_id>", methods=["GET", "POST"])
@rule(Permission.VIEW_SITE)
def detail(screening_id: int):
    screening = _load(screening_id)
    if request.method == "GET":
        return _render(screening, _crf_form(screening))
    access.require(Permission.ENTER_DATA, screening.site_id, screening.study_id)
    form = _crf_form(screening, request.form)
    valid = form.validate()
    if form.errors.get("csrf_token"):
        abort(400)
    try:
        services.save_screening_values(
            db.session, screening, form.raw_values(), actor=current_user,
            reason=form.change_reason.data, expected_version=int(form.entry_version.data or 0))
    except ConflictError:
        db.session.rollback()
        db.session.refresh(screening.entry)
        form.entry_version.data = str(screening.entry.version)  # saving again is then possible
        return _render(screening, form, 409, conflict=True)
    except (ReasonRequired, services.ScreeningError) as exc:
        db.session.rollback()
        form.change_reason.errors = [str(exc)]
        return _render(screening, form, 400)
    except locks.Locked as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _render(screening, form, 409)
    db.session.commit()
    if not valid:
        flash("Saved what could be saved; fix the values marked below.", "error")
        form.entry_version.data = str(screening.entry.version)
        return _render(screening, form, 400)
    flash("Saved.", "success")
    return redirect(url_for("screening.detail", screening_id=screening.id) + "#verdict")


# Screening fields shown beside the CRF's items on the history page
SCREENING_LABELS = {"screening_number": "Screening number", "subgroup": "Sub-group",
                    "status": "Screening status"}


@bp.route("/<int:screening_id>/history")
@rule(Permission.VIEW_SITE)
def history(screening_id: int):
    """Every value the screening CRF ever had (and the sub-group and decision): who, when,
    old → new, why."""
    screening = _load(screening_id)
    definition = services.protocol(screening).screening
    labels = {code: item.label for code, item in definition.items.items()}
    return render_template(
        "crf/history.html", title=f"Screening {screening.screening_number}",
        back=url_for("screening.detail", screening_id=screening.id),
        events=audit_history(db.session, ("crf_entries", screening.entry.id),
                             ("screenings", screening.id)),
        labels={**SCREENING_LABELS, **labels},
        tz=screening.site.timezone)


@bp.route("/<int:screening_id>/subgroup", methods=["POST"])
@rule(Permission.ENTER_DATA)
def subgroup(screening_id: int):
    screening = _load(screening_id)
    access.require(Permission.ENTER_DATA, screening.site_id, screening.study_id)
    form = SubgroupForm()
    form.subgroup.choices = [SelectChoice(s.code, s.name)
                             for s in services.protocol(screening).study.subgroups]
    if not form.validate_on_submit():
        abort(400)
    try:
        services.set_subgroup(db.session, screening, form.subgroup.data, actor=current_user)
    except locks.Locked as exc:
        return _locked(screening, exc)
    except services.ScreeningError as exc:
        flash(str(exc), "error")
        return redirect(url_for("screening.detail", screening_id=screening.id))
    db.session.commit()
    flash("Sub-group set.", "success")
    return redirect(url_for("screening.detail", screening_id=screening.id) + "#verdict")


def _load_for(screening_id: int, permission: Permission) -> Screening:
    screening = _load(screening_id)
    access.require(permission, screening.site_id, screening.study_id)
    if not DecisionForm().validate_on_submit():
        abort(400)
    return screening


def _locked(screening: Screening, exc: locks.Locked):
    """A locked study: the 409 page, nothing saved."""
    db.session.rollback()
    back = url_for("screening.detail", screening_id=screening.id)
    return lock_panels.refused(db.session, exc.lock, screening.site.timezone, back)


def _refused(screening: Screening, exc: Exception):
    db.session.rollback()
    flash(str(exc), "error")
    return redirect(url_for("screening.detail", screening_id=screening.id) + "#verdict")


@bp.route("/<int:screening_id>/fail", methods=["POST"])
@rule(Permission.ENTER_DATA)
def fail(screening_id: int):
    screening = _load_for(screening_id, Permission.ENTER_DATA)
    try:
        services.record_failure(db.session, screening, actor=current_user)
    except locks.Locked as exc:
        return _locked(screening, exc)
    except services.ScreeningError as exc:
        return _refused(screening, exc)
    db.session.commit()
    flash(f"Screen failure of {screening.screening_number} recorded.", "success")
    return redirect(url_for("screening.log"))


@bp.route("/<int:screening_id>/enroll", methods=["POST"])
@rule(Permission.SIGN)
def enroll(screening_id: int):
    screening = _load_for(screening_id, Permission.SIGN)
    try:
        participant = services.enroll(db.session, screening, actor=current_user,
                                      on=DecisionForm().on.data)
    except locks.Locked as exc:
        return _locked(screening, exc)
    except services.ScreeningError as exc:
        return _refused(screening, exc)
    db.session.commit()
    flash(f"Enrolled as {participant.participant_code}.", "success")
    return redirect(url_for("participants.detail", participant_id=participant.id))
