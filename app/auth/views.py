from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from app.access import PUBLIC, SIGNED_IN, access
from app.auth import services
from app.auth.forms import LoginForm, LogoutForm
from app.auth.session import EXPIRED_FLAG, EXPIRED_MESSAGE, login_limits, now
from app.db import db

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("sites.home")


@bp.route("/login", methods=["GET", "POST"])
@access(PUBLIC)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("sites.home"))
    if session.pop(EXPIRED_FLAG, False):
        flash(EXPIRED_MESSAGE, "info")
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(db.session, form.username.data, form.password.data,
                                         now=now(), limits=login_limits())
        except services.LoginLocked as locked:
            db.session.commit()  # keep the count, the lock and their audit rows
            form.password.errors.append(str(locked))
            return render_template("auth/login.html", form=form)
        if user is None:
            db.session.commit()  # keep the failed-login audit row and the count
            form.password.errors.append("Unknown username or wrong password.")
        else:
            services.start_session(db.session, user, now=now())
            db.session.commit()
            session.clear()  # a new session on login: nothing carried over from before
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@access(SIGNED_IN)
def logout():
    if LogoutForm().validate_on_submit():
        services.end_session(db.session, current_user.auth_token, current_user)
        db.session.commit()
        logout_user()
        session.clear()
        flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
