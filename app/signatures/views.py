"""Signing a CRF or a visit; every route carries an access rule.

A refused attempt redirects back to the page it came from, which shows the message next to
the field and keeps the chosen meaning (never the password): the page's own view stays
unaware of signing, and the panels get what they show from the template globals below.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask import session as web_session
from flask_login import current_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from app import access
from app.access import access as rule
from app.auth import services as accounts
from app.auth.session import login_limits, now
from app.crf.models import CrfEntry
from app.db import db
from app.domain.access import Permission
from app.domain.signing import MEANINGS
from app.signatures import services
from app.signatures.models import Signature
from app.visits.models import Visit

bp = Blueprint("signatures", __name__, url_prefix="/signatures")

_KEPT = "signing_refused"  # the last refused attempt: target, id, field, message, meaning


class SignForm(FlaskForm):
    meaning = SelectField("Meaning of your signature",
                          choices=[SelectChoice("", "Choose what your signature means…"),
                                   *[SelectChoice(m) for m in MEANINGS]],
                          validators=[InputRequired("Choose what your signature means.")])
    password = PasswordField("Your password",
                             validators=[InputRequired("Enter your password to sign.")])


def _blank_form() -> SignForm:
    return SignForm(formdata=None, prefix="sign")


def _posted_form() -> SignForm:
    return SignForm(prefix="sign")  # reads request.form


@bp.app_template_global()
def signature_form(target: str, target_id: int) -> SignForm:
    """The sign form for a page; after a refused attempt, with its message and meaning."""
    form = _blank_form()
    kept = web_session.get(_KEPT)
    if kept and kept["target"] == target and kept["id"] == target_id:
        web_session.pop(_KEPT)
        form.meaning.data = kept["meaning"]
        getattr(form, kept["field"]).errors = [kept["message"]]
    return form


@bp.after_app_request
def _forget_refusal(response):
    """A refusal is shown on the next page only, never again after navigating on."""
    if _KEPT in web_session and not (request.endpoint or "").startswith("signatures."):
        web_session.pop(_KEPT)
    return response


@bp.app_template_global()
def signatures_for(target: str, target_id: int) -> list[Signature]:
    return services.signatures_for(db.session, target, target_id)


@bp.app_template_global()
def crf_has_content(entry: CrfEntry | None) -> bool:
    return services.has_content(entry)


@bp.route("/crf/<int:entry_id>", methods=["POST"])
@rule(Permission.SIGN)
def sign_crf(entry_id: int):
    stmt = select(CrfEntry).where(CrfEntry.id == entry_id)
    entry = access.get_or_404(db.session, stmt, lambda e: e.site_id,
                              lambda e: services.study_of(db.session, e))
    access.require(Permission.SIGN, entry.site_id, services.study_of(db.session, entry))
    return _sign(services.CRF, entry.id, _crf_page(entry), lambda form: services.sign_crf(
        db.session, entry, signer=current_user, password=form.password.data,
        meaning=form.meaning.data))


@bp.route("/visit/<int:visit_id>", methods=["POST"])
@rule(Permission.SIGN)
def sign_visit(visit_id: int):
    stmt = select(Visit).where(Visit.id == visit_id)
    visit = access.get_or_404(db.session, stmt, lambda v: v.site_id,
                              lambda v: v.participant.study_id)
    access.require(Permission.SIGN, visit.site_id, visit.participant.study_id)
    back = url_for("visits.detail", visit_id=visit.id) + "#signatures"
    return _sign(services.VISIT, visit.id, back, lambda form: services.sign_visit(
        db.session, visit, signer=current_user, password=form.password.data,
        meaning=form.meaning.data))


def _crf_page(entry: CrfEntry) -> str:
    if entry.visit_id is not None:
        page = url_for("visits.crf", visit_id=entry.visit_id, form_code=entry.form_code,
                       sequence=entry.sequence)
    elif entry.screening_id is not None:
        page = url_for("screening.detail", screening_id=entry.screening_id)
    else:
        abort(404)
    return page + "#signatures"


def _sign(target: str, target_id: int, back: str,
          act: Callable[[SignForm], Signature]):
    """Validate the form, sign, commit once; on refusal keep the message for the page."""
    form = _posted_form()
    if not form.validate():
        if form.errors.get("csrf_token"):
            abort(400)
        field = "meaning" if form.meaning.errors else "password"
        return _refused(target, target_id, field, getattr(form, field).errors[0],
                        form.meaning.data, back)
    try:
        signature = act(form)
    except services.WrongPassword as exc:
        if accounts.count_password_failure(db.session, current_user, now(), login_limits()):
            db.session.commit()
            logout_user()
            flash("Too many wrong passwords: you have been signed out and the account is "
                  "locked for a while.", "error")
            return redirect(url_for("auth.login"))
        db.session.commit()  # the audited failed attempt; nothing else was changed
        return _refused(target, target_id, exc.field, str(exc), form.meaning.data, back)
    except services.SigningError as exc:
        db.session.rollback()
        return _refused(target, target_id, exc.field or "password", str(exc),
                        form.meaning.data, back)
    db.session.commit()
    flash(f"Signed by {signature.printed_name}: {signature.meaning}.", "success")
    return redirect(back)


def _refused(target: str, target_id: int, field: str, message: str, meaning: str | None,
             back: str):
    web_session[_KEPT] = {"target": target, "id": target_id, "field": field,
                          "message": message, "meaning": meaning or ""}
    return redirect(back)
