"""Routes for locks; every one carries an access rule.

Each handler loads its object through the access layer (another site's object is a 404),
checks LOCK where the object is, calls one service and commits once. A refused form comes
back on a small page of its own with the message next to the reason field.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from app import access
from app.access import access as rule
from app.crf.models import CrfEntry
from app.db import db
from app.domain.access import Permission
from app.locks import services
from app.locks.forms import lock_form, unlock_form
from app.locks.models import Lock
from app.participants.models import Participant
from app.sites.models import Site
from app.studies.models import Study

bp = Blueprint("locks", __name__, url_prefix="/locks")


def _crf_page(entry: CrfEntry) -> str:
    if entry.visit_id is None:
        return url_for("screening.detail", screening_id=entry.screening_id)
    return url_for("visits.crf", visit_id=entry.visit_id, form_code=entry.form_code,
                   sequence=entry.sequence)


def _place(scope: str, target_id: int) -> tuple[str, str | None]:
    """(page to go back to, time zone to show times in) for a lock's target."""
    if scope == "study":
        return url_for("studies.index"), None
    if scope == "participant":
        participant = db.session.get(Participant, target_id)
        return url_for("participants.detail", participant_id=target_id), \
            participant.site.timezone
    entry = db.session.get(CrfEntry, target_id)
    return _crf_page(entry), db.session.get(Site, entry.site_id).timezone


@bp.route("/crf/<int:entry_id>", methods=["POST"])
@rule(Permission.LOCK)
def lock_crf(entry_id: int):
    entry = access.get_or_404(db.session, select(CrfEntry).where(CrfEntry.id == entry_id),
                              lambda e: e.site_id,
                              lambda e: services.entry_study_id(db.session, e))
    access.require(Permission.LOCK, entry.site_id, services.entry_study_id(db.session, entry))
    return _lock("crf", entry)


@bp.route("/participant/<int:participant_id>", methods=["POST"])
@rule(Permission.LOCK)
def lock_participant(participant_id: int):
    stmt = select(Participant).where(Participant.id == participant_id)
    participant = access.get_or_404(db.session, stmt, lambda p: p.site_id, lambda p: p.study_id)
    access.require(Permission.LOCK, participant.site_id, participant.study_id)
    return _lock("participant", participant)


@bp.route("/study/<int:study_id>", methods=["POST"])
@rule(Permission.LOCK)
def lock_study(study_id: int):
    # Studies are not kept per site (every signed-in user sees the studies page), so the
    # check is the permission itself: LOCK granted for every site.
    study = db.session.get(Study, study_id) or abort(404)
    access.require(Permission.LOCK, None, study.id)
    return _lock("study", study)


@bp.route("/<int:lock_id>/unlock", methods=["POST"])
@rule(Permission.LOCK)
def unlock(lock_id: int):
    lock = access.get_or_404(db.session, select(Lock).where(Lock.id == lock_id),
                             lambda row: row.site_id, lambda row: row.study_id)
    access.require(Permission.LOCK, lock.site_id, lock.study_id)
    form = unlock_form(lock.id)
    back, tz = _place(lock.scope, lock.target_id)
    what = services.describe(db.session, lock)
    page = {"title": f"Unlock {what}", "button": "Unlock", "lock": lock, "tz": tz,
            "what": what, "back": back,
            "action": url_for("locks.unlock", lock_id=lock.id)}
    if not form.validate_on_submit():
        return _form_page(form, page, 400)
    try:
        services.unlock(db.session, lock, current_user, form.reason.data)
    except services.LockError as exc:
        db.session.rollback()
        return _form_page(form, page, 409, exc)
    db.session.commit()
    flash(f"Unlocked {what}; it can be changed again.", "success")
    return redirect(back)


def _lock(scope: str, target: Any):
    form = lock_form(scope, target.id)
    back, tz = _place(scope, target.id)
    what = services.label(db.session, scope, target.id)
    page = {"title": f"Lock {what}", "button": "Lock", "lock": None, "tz": tz, "what": what,
            "back": back, "action": url_for(f"locks.lock_{scope}", **{_ARG[scope]: target.id})}
    if not form.validate_on_submit():
        return _form_page(form, page, 400)
    try:
        services.lock(db.session, scope, target, current_user, form.reason.data)
    except services.LockError as exc:
        db.session.rollback()
        page["lock"] = _active(scope, target.id)
        return _form_page(form, page, 409, exc)
    db.session.commit()
    flash(f"Locked {what}: it is read-only now.", "success")
    return redirect(back)


_ARG = {"crf": "entry_id", "participant": "participant_id", "study": "study_id"}


def _active(scope: str, target_id: int) -> Lock | None:
    return db.session.scalar(select(Lock).where(Lock.scope == scope, Lock.target_id == target_id,
                                                Lock.unlocked_at.is_(None)))


def _form_page(form: FlaskForm, page: dict[str, Any], status: int,
               error: services.LockError | None = None):
    if error is not None and error.field:
        form.reason.errors = [*form.reason.errors, str(error)]
    elif error is not None:
        flash(str(error), "error")
    return render_template("locks/form.html", form=form, **page), status
