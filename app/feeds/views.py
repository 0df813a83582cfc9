"""Calendar subscriptions: per-user and per-site iCalendar feeds behind a secret token."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField

from app import access
from app.access import PUBLIC
from app.access import access as rule
from app.db import db
from app.domain import ical
from app.domain.access import Permission
from app.feeds import services
from app.model_base import utcnow
from app.sites.models import Site

bp = Blueprint("feeds", __name__, url_prefix="/feeds")

PERSONAL = ""


class NewFeedForm(FlaskForm):
    site = SelectField("Visits of", choices=[], validate_choice=False)


class FeedActionForm(FlaskForm):
    """Regenerate or revoke: nothing to fill in but the CSRF token."""


def _my_sites() -> list[Site]:
    return list(db.session.scalars(access.scope(select(Site), Site.id).order_by(Site.code)))


def _new_feed_form(sites: list[Site]) -> NewFeedForm:
    form = NewFeedForm()
    form.site.choices = [(PERSONAL, "All my sites (personal feed)")] + [
        (str(s.id), f"Site {s.code} only ({s.name})") for s in sites]
    return form


def _page(form: NewFeedForm | None = None, new_feed: services.NewFeed | None = None,
          status: int = 200) -> Response:
    sites = _my_sites()
    new_url = None
    if new_feed is not None:
        new_url = url_for("feeds.feed", token=new_feed.token, _external=True)
    body = render_template(
        "feeds/index.html", feeds=services.active_feeds(db.session, current_user),
        form=form or _new_feed_form(sites), action_form=FeedActionForm(), new_feed=new_feed,
        new_url=new_url, webcal_url=_webcal(new_url) if new_url else None)
    response = Response(body, status=status)
    response.headers["Cache-Control"] = "no-store"  # the address is shown once, never cached
    return response


def _webcal(url: str) -> str | None:
    for scheme in ("https://", "http://"):
        if url.startswith(scheme):
            return "webcal://" + url.removeprefix(scheme)
    return None


@bp.route("/")
@rule(Permission.VIEW_SITE)
def index():
    return _page()


@bp.route("/new", methods=["POST"])
@rule(Permission.VIEW_SITE)
def create():
    sites = _my_sites()
    form = _new_feed_form(sites)
    if not form.validate_on_submit():
        return _page(form, status=400)
    site = None
    if form.site.data != PERSONAL:
        site = next((s for s in sites if str(s.id) == form.site.data), None)
        if site is None:  # not one of theirs, or no such site: the same answer
            form.site.errors = ["Choose one of your sites."]
            return _page(form, status=400)
    try:
        new_feed = services.create(db.session, current_user, site, actor=current_user)
    except services.FeedError as exc:
        db.session.rollback()
        form.site.errors = [str(exc)]
        return _page(form, status=400)
    db.session.commit()
    return _page(new_feed=new_feed)


def _owned_or_404(feed_id: int):
    feed = services.owned(db.session, current_user, feed_id)
    if feed is None:
        abort(404)
    if not FeedActionForm().validate_on_submit():
        abort(400)
    return feed


@bp.route("/<int:feed_id>/regenerate", methods=["POST"])
@rule(Permission.VIEW_SITE)
def regenerate(feed_id: int):
    feed = _owned_or_404(feed_id)
    try:
        new_feed = services.regenerate(db.session, feed, actor=current_user)
    except services.FeedError as exc:
        db.session.rollback()
        flash(f"The feed was not regenerated: {exc} You can still revoke it.", "error")
        return redirect(url_for("feeds.index"))
    db.session.commit()
    return _page(new_feed=new_feed)


@bp.route("/<int:feed_id>/revoke", methods=["POST"])
@rule(Permission.VIEW_SITE)
def revoke(feed_id: int):
    feed = _owned_or_404(feed_id)
    services.revoke(db.session, feed, actor=current_user)
    db.session.commit()
    flash("Feed revoked: calendars subscribed to its address get nothing more.", "success")
    return redirect(url_for("feeds.index"))


@bp.route("/<token>.ics")
@rule(PUBLIC)  # the secret token is the credential; it shows what its owner may see
def feed(token: str):
    found = services.resolve(db.session, token)
    if found is None:
        abort(404)
    feed_token, owner = found
    now = utcnow()
    visits = services.visits(db.session, feed_token, owner, now.date(),
                             link_base=request.url_root)
    if visits is None:  # a site feed whose site its owner may no longer see
        abort(404)
    where = f"site {feed_token.site.code}" if feed_token.site else "all my sites"
    body = ical.calendar(
        f"Lupus eCRF visits · {where}", visits, now,
        description="Visit windows from the Lupus eCRF, by participant ID. "
                    "The address is personal: do not share it.")
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="lupus-ecrf-visits.ics"'
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


from app.feeds import print_view  # noqa: E402, F401  (registers the printable schedule)
