"""Administration: users, role grants, sites and the audit trail. Admins only."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from app.access import access
from app.admin.forms import ActiveForm, GrantForm, ReminderSettingsForm, SiteForm, UserForm
from app.audit import services as audit
from app.audit.models import AuditEvent
from app.audit.services import ConflictError
from app.auth import services as accounts
from app.auth.models import RoleGrant, User
from app.db import db
from app.domain.access import Permission, Role
from app.sites import services as sites
from app.sites.models import Site
from app.studies.models import Study

bp = Blueprint("admin", __name__, url_prefix="/admin")
ADMIN = access(Permission.ADMINISTER)


def _user_or_404(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404)


def _grant_form() -> GrantForm:
    form = GrantForm()
    sites_ = db.session.scalars(select(Site).order_by(Site.code))
    studies = db.session.scalars(select(Study).order_by(Study.code))
    form.set_choices([(s.code, f"{s.code} · {s.name}") for s in sites_],
                     [(s.code, s.code) for s in studies])
    return form


@bp.route("/users")
@ADMIN
def users():
    rows = db.session.scalars(select(User).order_by(User.username)).all()
    return render_template("admin/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
@ADMIN
def new_user():
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                db.session, username=form.username.data, email=form.email.data,
                full_name=form.full_name.data, password=form.password.data, actor=current_user,
            )
        except accounts.AccountError as exc:
            getattr(form, exc.field or "username").errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Account {user.username} created. Grant it a role below.", "success")
            return redirect(url_for("admin.user", user_id=user.id))
    return render_template("admin/user_new.html", form=form)


@bp.route("/users/<int:user_id>")
@ADMIN
def user(user_id: int):
    account = _user_or_404(user_id)
    return render_template("admin/user.html", account=account, grant_form=_grant_form(),
                           active_form=ActiveForm(version=account.version))


@bp.route("/users/<int:user_id>/grants", methods=["POST"])
@ADMIN
def grant(user_id: int):
    account, form = _user_or_404(user_id), _grant_form()
    if not form.validate_on_submit():
        return render_template("admin/user.html", account=account, grant_form=form,
                               active_form=ActiveForm(version=account.version)), 400
    site = sites.find_site(db.session, form.site.data) if form.site.data else None
    study = db.session.scalar(select(Study).where(Study.code == form.study.data)) \
        if form.study.data else None
    try:
        accounts.grant_role(db.session, account, Role(form.role.data), site=site, study=study,
                            actor=current_user)
    except accounts.AccountError as exc:
        form.site.errors = [str(exc)]
        return render_template("admin/user.html", account=account, grant_form=form,
                               active_form=ActiveForm(version=account.version)), 400
    db.session.commit()
    flash("Role granted.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/grants/<int:grant_id>/revoke", methods=["POST"])
@ADMIN
def revoke(user_id: int, grant_id: int):
    grant = db.session.get(RoleGrant, grant_id)
    if grant is None or grant.user_id != user_id or not ActiveForm().validate_on_submit():
        abort(404)
    accounts.revoke_role(db.session, grant, actor=current_user)
    db.session.commit()
    flash("Role revoked.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@ADMIN
def set_active(user_id: int):
    account, form = _user_or_404(user_id), ActiveForm()
    if not form.validate_on_submit():
        abort(400)
    if account.id == current_user.id:
        flash("You cannot deactivate your own account.", "error")
        return redirect(url_for("admin.user", user_id=user_id))
    try:
        accounts.set_active(db.session, account, not account.active, actor=current_user,
                            reason=form.reason.data or None,
                            expected_version=int(form.version.data or 0))
    except ConflictError:
        flash("Someone else changed this account meanwhile; here is what it is now.", "error")
        return redirect(url_for("admin.user", user_id=user_id))
    db.session.commit()
    flash(f"Account {account.username} {'activated' if account.active else 'deactivated'}.",
          "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/sites")
@ADMIN
def site_list():
    rows = db.session.scalars(select(Site).order_by(Site.code)).all()
    return render_template("admin/sites.html", sites=rows)


@bp.route("/sites/new", methods=["GET", "POST"])
@ADMIN
def new_site():
    form = SiteForm()
    if form.validate_on_submit():
        try:
            site = sites.create_site(db.session, code=form.code.data, name=form.name.data,
                                     timezone=form.timezone.data, actor=current_user)
        except sites.SiteError as exc:
            getattr(form, exc.field).errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Site {site.code} created.", "success")
            return redirect(url_for("admin.site_list"))
    return render_template("admin/site_new.html", form=form)


@bp.route("/sites/<code>/reminders", methods=["GET", "POST"])
@ADMIN
def site_reminders(code: str):
    site = sites.find_site(db.session, code) or abort(404)
    form = ReminderSettingsForm(obj=site, kinds=sorted(site.kinds), version=site.version)
    if form.validate_on_submit():
        values = {"reminder_lead_days": form.reminder_lead_days.data,
                  "reminder_kinds": ",".join(k for k in ("upcoming", "due", "overdue", "missed")
                                             if k in form.kinds.data),
                  "reminder_digest": form.reminder_digest.data}
        try:
            audit.update(db.session, site, values, actor=current_user, reason=form.reason.data,
                         expected_version=int(form.version.data or 0))
        except ConflictError:
            flash("Someone else changed these settings meanwhile; here they are now.", "error")
            return redirect(url_for("admin.site_reminders", code=site.code))
        db.session.commit()
        flash(f"Reminder settings of {site.code} saved.", "success")
        return redirect(url_for("admin.site_list"))
    return render_template("admin/site_reminders.html", site=site, form=form)


@bp.route("/audit")
@ADMIN
def audit_trail():
    rows = db.session.scalars(
        select(AuditEvent).order_by(AuditEvent.id.desc()).limit(200)
    ).all()
    return render_template("admin/audit.html", events=rows)
