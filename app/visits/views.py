"""A participant's timeline, a visit's page, and the visit's CRFs."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from wtforms import DateField, HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app import access
from app.access import access as rule
from app.audit.services import ConflictError, ReasonRequired
from app.audit.services import history as audit_history
from app.crf import services as crf_services
from app.crf.forms import CrfForm, bind, read_posted
from app.crf.models import CrfEntry
from app.db import db
from app.domain.access import Permission
from app.domain.definitions import FormDef
from app.locks import panels as lock_panels
from app.locks import services as locks
from app.participants.models import Participant
from app.visits import services
from app.visits.models import Visit

bp = Blueprint("visits", __name__, url_prefix="/visits")


class VisitDateForm(FlaskForm):
    actual_date = DateField("Visit date", validators=[DataRequired(message="Enter the date.")])
    reason = StringField("Reason for changing the date", validators=[Optional(), Length(max=500)])
    confirm = HiddenField()


class NotDoneForm(FlaskForm):
    reason = StringField("Why was the visit not done?", validators=[DataRequired(),
                                                                     Length(max=500)])


def load(visit_id: int) -> Visit:
    # every visit page reads the participant and its protocol version: in the same statement
    stmt = (select(Visit).where(Visit.id == visit_id)
            .options(joinedload(Visit.participant).joinedload(Participant.protocol_version)))
    return access.get_or_404(db.session, stmt, lambda v: v.site_id,
                             lambda v: v.participant.study_id)


def _definition(visit: Visit, form_code: str) -> FormDef:
    protocol = services.protocol_of(visit.participant.protocol_version)
    if form_code not in _form_codes(visit) or form_code not in protocol.forms:
        abort(404)
    return protocol.forms[form_code]


def _form_codes(visit: Visit) -> tuple[str, ...]:
    if visit.unscheduled:
        protocol = services.protocol_of(visit.participant.protocol_version)
        return tuple(code for code, f in protocol.forms.items()
                     if f.code != protocol.study.screening_form)
    return services.schedule_of(visit.participant).visit(visit.code).forms


def entries_of(visit: Visit) -> dict[str, list[CrfEntry]]:
    rows = db.session.scalars(select(CrfEntry).where(CrfEntry.visit_id == visit.id)
                              .order_by(CrfEntry.form_code, CrfEntry.sequence))
    grouped: dict[str, list[CrfEntry]] = {}
    for row in rows:
        grouped.setdefault(row.form_code, []).append(row)
    return grouped


def _render_visit(visit: Visit, date_form=None, not_done_form=None, pending=None, status=200):
    site = visit.participant.site
    protocol = services.protocol_of(visit.participant.protocol_version)
    today = services.site_today(site)
    panel = lock_panels.participant_context(db.session, visit.participant)
    return render_template(
        "visits/detail.html", visit=visit, participant=visit.participant, protocol=protocol,
        status=services.visit_status(visit, today, site.reminder_lead_days), today=today,
        forms=[protocol.forms[c] for c in _form_codes(visit)], entries=entries_of(visit),
        date_form=date_form or VisitDateForm(actual_date=visit.actual_date),
        not_done_form=not_done_form or NotDoneForm(), pending=pending, **panel,
        can_enter=access.can(Permission.ENTER_DATA, visit.site_id, visit.participant.study_id)
        and not panel["participant_locks"],
    ), status


@bp.route("/<int:visit_id>")
@rule(Permission.VIEW_SITE)
def detail(visit_id: int):
    return _render_visit(load(visit_id))


@bp.route("/<int:visit_id>/date", methods=["POST"])
@rule(Permission.ENTER_DATA)
def record_date(visit_id: int):
    visit = load(visit_id)
    access.require(Permission.ENTER_DATA, visit.site_id, visit.participant.study_id)
    if refusal := _locked(visit):
        return refusal
    form = VisitDateForm()
    if not form.validate_on_submit():
        return _render_visit(visit, date_form=form, status=400)
    today = services.site_today(visit.participant.site)
    try:
        services.check_date(form.actual_date.data, today)
    except services.VisitError as exc:
        form.actual_date.errors = [str(exc)]
        return _render_visit(visit, date_form=form, status=400)
    pending = services.preview_date(db.session, visit, form.actual_date.data)
    if pending is not None and form.confirm.data != form.actual_date.data.isoformat():
        form.confirm.data = form.actual_date.data.isoformat()
        return _render_visit(visit, date_form=form, pending=pending)
    try:
        moves = services.record_date(db.session, visit, form.actual_date.data,
                                     actor=current_user, reason=form.reason.data, today=today)
    except (services.VisitError, ReasonRequired) as exc:
        db.session.rollback()
        (form.reason if isinstance(exc, ReasonRequired) else form.actual_date).errors = [str(exc)]
        return _render_visit(visit, date_form=form, status=400)
    except ConflictError:
        db.session.rollback()
        db.session.refresh(visit)
        form.actual_date.errors = ["Someone changed this visit while you were entering the "
                                   "date; it now shows what they saved. Check and save again."]
        return _render_visit(visit, date_form=form, status=409)
    db.session.commit()
    moved = f"; {len(moves)} later visits moved with it" if moves else ""
    flash(f"{visit.name}: date recorded{moved}.", "success")
    return redirect(url_for("visits.detail", visit_id=visit.id))


@bp.route("/<int:visit_id>/not-done", methods=["POST"])
@rule(Permission.ENTER_DATA)
def not_done(visit_id: int):
    visit = load(visit_id)
    access.require(Permission.ENTER_DATA, visit.site_id, visit.participant.study_id)
    if refusal := _locked(visit):
        return refusal
    form = NotDoneForm()
    if not form.validate_on_submit():
        return _render_visit(visit, not_done_form=form, status=400)
    try:
        services.mark_not_done(db.session, visit, form.reason.data, actor=current_user)
    except services.VisitError as exc:
        db.session.rollback()
        form.reason.errors = [str(exc)]
        return _render_visit(visit, not_done_form=form, status=400)
    db.session.commit()
    flash(f"{visit.name} recorded as not done.", "success")
    return redirect(url_for("participants.detail", participant_id=visit.participant_id))


def _locked(visit: Visit):
    """The 409 page when the visit's participant (or study) is locked, else None."""
    back = url_for("visits.detail", visit_id=visit.id)
    return lock_panels.refuse_if_participant_locked(db.session, visit.participant, back)


def _entry(visit: Visit, definition: FormDef, sequence: int, create: bool) -> CrfEntry | None:
    entry = db.session.scalar(select(CrfEntry).where(
        CrfEntry.visit_id == visit.id, CrfEntry.form_code == definition.code,
        CrfEntry.sequence == sequence))
    if entry is None and create:
        entry = _new_entry(visit, definition, sequence)
    return entry


def _new_entry(visit: Visit, definition: FormDef, sequence: int) -> CrfEntry:
    entry = CrfEntry(site_id=visit.site_id, participant_id=visit.participant_id,
                     visit_id=visit.id, form_code=definition.code, sequence=sequence,
                     protocol_version_id=visit.participant.protocol_version_id,
                     values=[])  # new: nothing to load
    db.session.add(entry)  # inserted by the save, with its values (or a conflict there)
    return entry


@bp.route("/<int:visit_id>/forms/<form_code>/new", methods=["POST"])
@rule(Permission.ENTER_DATA)
def new_instance(visit_id: int, form_code: str):
    """Another adverse event, another medication: a new instance of a repeating form."""
    visit = load(visit_id)
    access.require(Permission.ENTER_DATA, visit.site_id, visit.participant.study_id)
    definition = _definition(visit, form_code)
    if not definition.repeating or not FlaskForm().validate_on_submit():
        abort(400)
    if refusal := _locked(visit):
        return refusal
    last = db.session.scalar(select(func.max(CrfEntry.sequence)).where(
        CrfEntry.visit_id == visit.id, CrfEntry.form_code == form_code)) or 0
    return redirect(url_for("visits.crf", visit_id=visit.id, form_code=form_code,
                            sequence=last + 1))


@bp.route("/<int:visit_id>/forms/<form_code>", methods=["GET", "POST"], defaults={"sequence": 1})
@bp.route("/<int:visit_id>/forms/<form_code>/<int:sequence>", methods=["GET", "POST"])
@rule(Permission.VIEW_SITE)
def crf(visit_id: int, form_code: str, sequence: int):
    visit = load(visit_id)
    definition = _definition(visit, form_code)
    if sequence < 1 or (sequence > 1 and not definition.repeating):
        abort(404)
    # a first save (version 0) is not looked for: its INSERT finds one saved meanwhile
    first = request.method == "POST" and request.form.get("entry_version") in ("0", "")
    entry = None if first else _entry(visit, definition, sequence, create=False)
    raw, version = (entry.raw_values(), entry.version) if entry else ({}, 0)
    if request.method == "GET":
        return _render_crf(visit, definition, sequence, bind(definition, raw, version), entry)
    access.require(Permission.ENTER_DATA, visit.site_id, visit.participant.study_id)
    # a valid post is read without its WTForms form; the form is built when a page shows it
    posted = read_posted(definition, raw, request.form) if _csrf_checked() else None
    valid = posted is not None
    form = None if valid else bind(definition, raw, version, request.form)
    if form is not None:
        valid = form.validate()
        if form.errors.get("csrf_token") or not (form.entry_version.data or "0").isdecimal():
            abort(400)
        posted = form.posted()

    def shown() -> CrfForm:
        """The form as posted, for a page that shows it again."""
        nonlocal form
        if form is None:
            form = bind(definition, raw, version, request.form)
            form.validate()
        return form

    if visit.cancelled_at is not None:
        abort(409)  # cancelled at withdrawal: nothing more is recorded for it
    # a CRF saved before: its lock first, before any conflict; a new one has none of its own,
    # and save() refuses it under its participant's or study's lock (Locked, below)
    if entry is not None and (lock := locks.lock_over(db.session, entry)) is not None:
        flash(str(locks.Locked(lock)), "error")
        return _render_crf(visit, definition, sequence, shown(), entry, 409)
    expected = posted.version
    existed = entry is not None
    try:
        # read above; if someone has created it since, its INSERT is the conflict
        entry = entry if existed else _new_entry(visit, definition, sequence)
        if expected == 0 and existed:
            raise ConflictError(entry, expected)
        crf_services.save(db.session, entry, definition, posted.raw, actor=current_user,
                          reason=posted.reason, expected_version=expected or None,
                          parsed=posted.parsed, created=not existed)
    except ConflictError:
        db.session.rollback()
        entry = _entry(visit, definition, sequence, create=False)
        if first:  # not read above: the page shows it as saved, what was posted over it
            raw, form = entry.raw_values(), None
            if (lock := locks.lock_over(db.session, entry)) is not None:  # its lock first
                flash(str(locks.Locked(lock)), "error")
                return _render_crf(visit, definition, sequence, shown(), entry, 409)
        shown().entry_version.data = str(entry.version)  # saving again is then possible
        return _render_crf(visit, definition, sequence, shown(), entry, 409, conflict=True)
    except ReasonRequired as exc:
        db.session.rollback()
        shown().change_reason.errors = [str(exc)]
        return _render_crf(visit, definition, sequence, shown(), entry, 400)
    except locks.Locked as exc:  # a new CRF under a lock, or one locked since the check
        db.session.rollback()
        flash(str(exc), "error")
        entry = _entry(visit, definition, sequence, create=False)
        return _render_crf(visit, definition, sequence, shown(), entry, 409)
    db.session.commit()
    if not valid:
        flash("Saved what could be saved; fix the values marked below.", "error")
        shown().entry_version.data = str(entry.version)
        return _render_crf(visit, definition, sequence, shown(), entry, 400)
    flash(f"{definition.title} saved.", "success")
    return redirect(url_for("visits.crf", visit_id=visit.id, form_code=form_code,
                            sequence=sequence))


def _csrf_checked() -> bool:
    """CSRFProtect checked the token before the view, or tokens are off: the form's own
    check would add nothing."""
    return bool(g.get("csrf_valid")) or not current_app.config.get("WTF_CSRF_ENABLED", True)


@bp.route("/<int:visit_id>/forms/<form_code>/<int:sequence>/history")
@rule(Permission.VIEW_SITE)
def crf_history(visit_id: int, form_code: str, sequence: int):
    """Every value this CRF ever had: who, when, old → new, why."""
    visit = load(visit_id)
    definition = _definition(visit, form_code)
    entry = _entry(visit, definition, sequence, create=False) or abort(404)
    return render_template("crf/history.html", title=f"{definition.title} · {visit.name}",
                           back=url_for("visits.crf", visit_id=visit.id, form_code=form_code,
                                        sequence=sequence),
                           events=audit_history(db.session, ("crf_entries", entry.id)),
                           labels=_labels(definition),
                           tz=visit.participant.site.timezone)


def _labels(definition: FormDef) -> dict[str, str]:
    return {code: item.label for code, item in definition.items.items()}


def _render_crf(visit, definition, sequence, form, entry, status=200, conflict=False):
    typed = crf_services.typed_values(definition, entry).values if entry else {}
    derived = {c: typed.get(c) for c, item in definition.items.items() if item.derived}
    stored = {v.item_code: v.shown() for v in entry.values} if (entry and conflict) else {}
    banner = lock_panels.crf_context(db.session, entry, visit.participant)
    return render_template(
        "visits/crf.html", visit=visit, participant=visit.participant, definition=definition,
        sequence=sequence, form=form, entry=entry, derived=derived, stored=stored,
        conflict=conflict, **banner,
        can_enter=access.can(Permission.ENTER_DATA, visit.site_id, visit.participant.study_id)
        and not banner["crf_locks"],
    ), status


def completion(visit: Visit, forms: tuple[str, ...], entries: dict[str, list[CrfEntry]],
               protocol) -> tuple[int, int]:
    """(forms with every required item entered, forms required)."""
    done = 0
    for code in forms:
        definition = protocol.forms[code]
        required = {c for c, i in definition.items.items() if i.required and not i.derived}
        instances = entries.get(code, [])
        if instances and all(required <= {v.item_code for v in e.values if v.value}
                             for e in instances):
            done += 1
    return done, len(forms)


def parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


# Shared with the JSON API, so that both find visits, their forms and CRFs alike.
form_codes = _form_codes
definition_of = _definition


def find_entry(visit: Visit, definition: FormDef, sequence: int,
               create: bool = False) -> CrfEntry | None:
    return _entry(visit, definition, sequence, create)
