"""Routes for queries; every one carries an access rule.

The list, one query with its conversation and the steps the user may take, and the form that
raises a query on one item of a CRF. Another site's query or CRF is a 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from app import access
from app.access import access as rule
from app.audit.services import ConflictError
from app.crf.models import CrfEntry
from app.db import db
from app.domain.access import Permission
from app.domain.queries import PERMISSION_FOR, TransitionRefused, actions_from
from app.locks.services import Locked
from app.queries import listing, marks, services
from app.queries.forms import AskForm, step_form
from app.queries.models import Query
from app.queries.places import Place, place_of

bp = Blueprint("queries", __name__, url_prefix="/queries")
for _global in marks.TEMPLATE_GLOBALS:  # the CRF, participant pages and lists include partials
    bp.add_app_template_global(_global)
STEPS = {"answer": (services.answer, "Answer recorded."),
         "close": (services.close, "Query closed."),
         "reopen": (services.reopen, "Query reopened.")}


def _load(query_id: int) -> Query:
    stmt = select(Query).where(Query.id == query_id)
    return access.get_or_404(db.session, stmt, lambda q: q.site_id, lambda q: q.study_id)


def _load_entry(entry_id: int) -> CrfEntry:
    stmt = select(CrfEntry).where(CrfEntry.id == entry_id)
    return access.get_or_404(db.session, stmt, lambda e: e.site_id,
                             lambda e: services.study_of(db.session, e))


def _place(query: Query) -> Place:
    return place_of(db.session, query.entry, query.item_code) or abort(404)


@bp.route("/")
@rule(Permission.VIEW_SITE)
def index():
    """Queries at the user's sites; ?status, ?site, ?study, ?participant narrow the list."""
    sites, studies = listing.choices(db.session)
    filters = listing.filters(db.session, sites, studies)
    return render_template("queries/index.html", rows=listing.rows(db.session, filters),
                           filters=filters, sites=sites, studies=studies,
                           statuses=listing.STATUS_FILTERS)


def _steps(query: Query) -> list[str]:
    """The steps this user may take on this query now."""
    return [step.value for step in actions_from(query.status)
            if access.can(PERMISSION_FOR[step], query.site_id, query.study_id)]


def _render(query: Query, posted=None, status: int = 200):
    forms = {step: step_form(step, query.version) for step in _steps(query)}
    if posted is not None:
        step, form = posted
        form.version.data = str(query.version)  # acting again is then possible
        forms[step] = form
    return render_template(
        "queries/detail.html", query=query, place=_place(query), forms=forms,
        can_correct=access.can(Permission.ENTER_DATA, query.site_id, query.study_id),
    ), status


@bp.route("/<int:query_id>")
@rule(Permission.VIEW_SITE)
def detail(query_id: int):
    return _render(_load(query_id))


def _step(query_id: int, step: str):
    query = _load(query_id)
    access.require(PERMISSION_FOR[step], query.site_id, query.study_id)
    form = step_form(step)
    if not form.validate_on_submit():
        return _render(query, (step, form), 400)
    run, done = STEPS[step]
    try:
        run(db.session, query, (form.text.data or "").strip(), actor=current_user,
            expected_version=form.expected_version())
    except (ConflictError, StaleDataError):
        db.session.rollback()
        flash("Someone else acted on this query while you were writing. Nothing of yours was "
              "saved: your text is below; review the query and send it again.", "error")
        return _render(query, (step, form), 409)
    except (TransitionRefused, Locked) as exc:
        db.session.rollback()
        form.text.errors = [str(exc)]
        return _render(query, (step, form), 409)
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("queries.detail", query_id=query.id))


@bp.route("/<int:query_id>/answer", methods=["POST"])
@rule(Permission.ENTER_DATA)
def answer(query_id: int):
    return _step(query_id, "answer")


@bp.route("/<int:query_id>/close", methods=["POST"])
@rule(Permission.RAISE_QUERY)
def close(query_id: int):
    return _step(query_id, "close")


@bp.route("/<int:query_id>/reopen", methods=["POST"])
@rule(Permission.RAISE_QUERY)
def reopen(query_id: int):
    return _step(query_id, "reopen")


@bp.route("/new/<int:entry_id>/<item_code>", methods=["GET", "POST"])
@rule(Permission.RAISE_QUERY)
def new(entry_id: int, item_code: str):
    """Raise a query on one item of a saved CRF."""
    entry = _load_entry(entry_id)
    place = place_of(db.session, entry, item_code) or abort(404)
    access.require(Permission.RAISE_QUERY, entry.site_id, place.study_id)
    form = AskForm()
    status = 200
    if form.validate_on_submit():
        try:
            query = services.raise_query(db.session, entry, item_code, form.text.data.strip(),
                                         actor=current_user)
        except Locked as exc:
            db.session.rollback()
            form.text.errors = [str(exc)]
            status = 409
        else:
            db.session.commit()
            flash(f"Query #{query.id} raised on {place.item_label}.", "success")
            return redirect(place.crf_url)
    elif form.is_submitted():
        status = 400
    earlier = [q for q in services.on_entry(db.session, entry.id) if q.item_code == item_code]
    return render_template("queries/new.html", form=form, place=place, earlier=earlier), status
