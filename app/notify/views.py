"""The outbox page: sent, pending and failed reminders of the user's sites, with resend."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from app import access
from app.access import access as rule
from app.db import db
from app.domain.access import Permission
from app.notify.jobs import clock
from app.notify.models import OutboxMessage
from app.notify.sender import resend as resend_message
from app.sites.models import Site

bp = Blueprint("notify", __name__, url_prefix="/outbox")
STATES = ("pending", "sending", "sent", "failed")


@bp.route("/")
@rule(Permission.VIEW_SITE)
def index():
    state = request.args.get("state")
    if state is not None and state not in STATES:
        abort(404)  # only known states: the filter is allow-listed
    base = access.scope(select(OutboxMessage), OutboxMessage.site_id)
    counts = dict(db.session.execute(
        access.scope(select(OutboxMessage.state, func.count()), OutboxMessage.site_id)
        .group_by(OutboxMessage.state)).all())
    stmt = base.where(OutboxMessage.state == state) if state else base
    rows = db.session.execute(
        stmt.add_columns(Site.code, Site.timezone).join(Site, Site.id == OutboxMessage.site_id)
        .order_by(OutboxMessage.id.desc()).limit(200)).all()
    return render_template("notify/outbox.html", rows=rows, counts=counts, state=state,
                           states=STATES, form=FlaskForm())


@bp.route("/<int:message_id>/resend", methods=["POST"])
@rule(Permission.ENTER_DATA)
def resend(message_id: int):
    stmt = select(OutboxMessage).where(OutboxMessage.id == message_id)
    message = access.get_or_404(db.session, stmt, lambda m: m.site_id)
    access.require(Permission.ENTER_DATA, message.site_id)
    if not FlaskForm().validate_on_submit() or message.state != "failed":
        abort(400)
    resend_message(db.session, message, clock(current_app))
    db.session.commit()
    flash("Queued again; it goes out with the next run.", "success")
    return redirect(url_for("notify.index", state="failed"))
