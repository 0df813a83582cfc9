"""The user's own page: their API tokens, created (shown once) and revoked."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.access import SIGNED_IN
from app.access import access as rule
from app.api import tokens
from app.db import db

bp = Blueprint("account", __name__, url_prefix="/account")


class NewTokenForm(FlaskForm):
    name = StringField("What will use it", validators=[
        DataRequired(message="Name the token after what will use it."), Length(max=100)])


class TokenActionForm(FlaskForm):
    """Revoke: nothing to fill in but the CSRF token."""


def _page(form: NewTokenForm | None = None, new: tokens.NewToken | None = None,
          status: int = 200):
    return render_template("account/index.html", form=form or NewTokenForm(), new=new,
                           tokens=tokens.active(db.session, current_user),
                           action_form=TokenActionForm()), status


@bp.route("/")
@rule(SIGNED_IN)
def index():
    return _page()


@bp.route("/tokens", methods=["POST"])
@rule(SIGNED_IN)
def create_token():
    form = NewTokenForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    new = tokens.create(db.session, current_user, form.name.data)
    db.session.commit()
    return _page(new=new)  # rendered, not redirected: the secret is never stored to show again


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@rule(SIGNED_IN)
def revoke_token(token_id: int):
    if not TokenActionForm().validate_on_submit():
        abort(400)
    token = tokens.owned(db.session, current_user, token_id) or abort(404)
    tokens.revoke(db.session, token, current_user)
    db.session.commit()
    flash(f"Token “{token.name}” revoked; programs using it are refused from now on.", "success")
    return redirect(url_for("account.index"))
