"""The JSON API (v1): participants, visits and CRF data, behind personal API tokens.

Reads and writes go through the same services as the browser: the same parsing, units,
audit rows, locks and access control. Only a bearer token authenticates here (a browser's
session cookie does not), so the API needs no CSRF token.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, jsonify, request
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from app import access
from app.access import access as rule
from app.api import serialize
from app.api.openapi import document
from app.api.problems import Problem
from app.audit.services import ConflictError, ReasonRequired
from app.crf import services as crf_services
from app.db import db
from app.domain.access import Permission
from app.domain.values import parse_all
from app.extensions import csrf
from app.locks.services import Locked
from app.participants.models import Participant
from app.routing import MAX_ID
from app.sites.models import Site
from app.studies.models import Study
from app.visits import services as visit_services
from app.visits import views as visit_views

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
MAX_PAGE = 500


@bp.errorhandler(Problem)
def _problem(exc: Problem):
    body = {"error": str(exc), **({"problems": exc.fields} if exc.fields else {}), **exc.extra}
    return jsonify(body), exc.status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return jsonify({"error": exc.description or exc.name}), exc.code


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def _unrouted(exc: HTTPException):
    """A URL under /api/ that matches no route still answers in JSON."""
    if request.path.startswith("/api/"):
        return _http_error(exc)
    return exc


@bp.route("/openapi.json")
@rule(access.PUBLIC)
def openapi():
    return jsonify(document())


@bp.route("/participants")
@rule(Permission.VIEW_SITE)
def participants():
    limit = _int_arg("limit", 100, 1, MAX_PAGE)
    after = _int_arg("after", 0, 0, MAX_ID)
    stmt = access.scope(select(Participant).where(Participant.id > after)
                        .order_by(Participant.id).limit(limit),
                        Participant.site_id, Participant.study_id)
    if code := request.args.get("study"):
        study = db.session.scalar(select(Study).where(Study.code == code))
        stmt = stmt.where(Participant.study_id == (study.id if study else -1))
    if code := request.args.get("site"):
        site = db.session.scalar(select(Site).where(Site.code == code))
        stmt = stmt.where(Participant.site_id == (site.id if site else -1))
    rows = list(db.session.scalars(stmt))
    return jsonify({"participants": [serialize.participant(p) for p in rows],
                    "next_after": rows[-1].id if len(rows) == limit else None})


def _int_arg(name: str, default: int, low: int, high: int | None) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Problem(400, f"{name} must be a whole number.",
                      {name: "Not a whole number."}) from None
    if value < low or (high is not None and value > high):
        upper = f" and {high}" if high is not None else ""
        raise Problem(400, f"{name} must be at least {low}{upper}.", {name: "Out of range."})
    return value


def _participant(participant_id: int) -> Participant:
    stmt = select(Participant).where(Participant.id == participant_id)
    return access.get_or_404(db.session, stmt, lambda p: p.site_id, lambda p: p.study_id)


@bp.route("/participants/<int:participant_id>")
@rule(Permission.VIEW_SITE)
def participant(participant_id: int):
    found = _participant(participant_id)
    today = visit_services.site_today(found.site)
    return jsonify({**serialize.participant(found), "visits": [
        serialize.visit(v, today) for v in found.visits]})


@bp.route("/visits/<int:visit_id>")
@rule(Permission.VIEW_SITE)
def visit(visit_id: int):
    found = visit_views.load(visit_id)
    today = visit_services.site_today(found.participant.site)
    protocol = visit_services.protocol_of(found.participant.protocol_version)
    entries = visit_views.entries_of(found)
    forms = [serialize.form_summary(protocol.forms[c], entries.get(c, []))
             for c in visit_views.form_codes(found)]
    return jsonify({**serialize.visit(found, today), "forms": forms})


@bp.route("/visits/<int:visit_id>/date", methods=["PUT"])
@rule(Permission.ENTER_DATA)
def visit_date(visit_id: int):
    found = visit_views.load(visit_id)
    access.require(Permission.ENTER_DATA, found.site_id, found.participant.study_id)
    body = _json_object()
    actual = _date(body.get("actual_date"))
    today = visit_services.site_today(found.participant.site)
    try:
        visit_services.check_date(actual, today)
        pending = visit_services.preview_date(db.session, found, actual)
        if pending is not None and body.get("confirm_moves") is not True:
            raise Problem(409, "This date moves later visits; send confirm_moves: true.",
                          moves=[serialize.move(m) for m in pending.moves])
        visit_services.record_date(db.session, found, actual, actor=current_user,
                                   reason=_text(body.get("reason")), today=today)
    except visit_services.VisitError as exc:
        raise Problem(422, str(exc), {exc.field or "actual_date": str(exc)}) from None
    except ReasonRequired as exc:
        raise Problem(422, str(exc), {"reason": str(exc)}) from None
    except Locked as exc:
        raise Problem(409, str(exc)) from None
    except ConflictError:
        raise Problem(409, "Someone changed this visit meanwhile; read it again.") from None
    db.session.commit()
    return jsonify(serialize.visit(found, today))


@bp.route("/visits/<int:visit_id>/forms/<form_code>/<int:sequence>")
@rule(Permission.VIEW_SITE)
def crf(visit_id: int, form_code: str, sequence: int):
    found, definition = _crf_target(visit_id, form_code, sequence)
    entry = visit_views.find_entry(found, definition, sequence)
    return jsonify(serialize.crf(definition, sequence, entry))


@bp.route("/visits/<int:visit_id>/forms/<form_code>/<int:sequence>", methods=["PUT"])
@rule(Permission.ENTER_DATA)
def save_crf(visit_id: int, form_code: str, sequence: int):
    found, definition = _crf_target(visit_id, form_code, sequence)
    access.require(Permission.ENTER_DATA, found.site_id, found.participant.study_id)
    if found.cancelled_at is not None:
        raise Problem(409, "This visit was cancelled at withdrawal; it takes no data.")
    body = _json_object()
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise Problem(422, "Send the version you read (0 for a new CRF).",
                      {"version": "A whole number, 0 or more."})
    incoming = serialize.raw_values(definition, body.get("values"))
    entry = visit_views.find_entry(found, definition, sequence)
    if (entry.version if entry else 0) != version:
        raise Problem(409, "Someone saved this CRF since you read it.",
                      current=serialize.crf(definition, sequence, entry))
    raw = {**(entry.raw_values() if entry else {}), **incoming}
    problems = parse_all(definition, raw).problems
    if problems:
        raise Problem(422, "Nothing was saved: fix the values named.", problems)
    created = entry is None
    try:
        entry = entry or visit_views.find_entry(found, definition, sequence, create=True)
        crf_services.save(db.session, entry, definition, raw, actor=current_user,
                          reason=_text(body.get("reason")), expected_version=version or None,
                          created=created)
    except ConflictError:
        raise Problem(409, "Someone saved this CRF since you read it.") from None
    except ReasonRequired as exc:
        raise Problem(422, str(exc), {"reason": str(exc)}) from None
    except Locked as exc:
        raise Problem(409, str(exc)) from None
    db.session.commit()
    return jsonify(serialize.crf(definition, sequence, entry))


def _crf_target(visit_id: int, form_code: str, sequence: int):
    found = visit_views.load(visit_id)
    definition = visit_views.definition_of(found, form_code)
    if sequence < 1 or (sequence > 1 and not definition.repeating):
        abort(404)
    return found, definition


def _json_object() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Problem(400, "Send a JSON object (Content-Type: application/json).")
    return body


def _date(raw: Any) -> date:
    try:
        return date.fromisoformat(raw)
    except (TypeError, ValueError):
        raise Problem(422, "actual_date must be a date (YYYY-MM-DD).",
                      {"actual_date": "Enter a date as YYYY-MM-DD."}) from None


def _text(raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise Problem(422, "reason must be text.", {"reason": "Text expected."})
    return raw

