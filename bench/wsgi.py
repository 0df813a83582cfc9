"""The gunicorn entry point of the CRF-save benchmark: `gunicorn 'bench.wsgi:build()'`.

The application as deployed (DATABASE_URL from the environment), plus the benchmark's
baseline, registered here only and never in the application proper: a POST route that runs
the same before-request work as the CRF save (login session looked up in the database, the
same `@access` rule, Flask-WTF's CSRF check, which parses the whole form body) and then
does one INSERT into a table of the benchmark's own, commits and answers 302.
"""

from __future__ import annotations

import os

from flask import Flask, Response, redirect, request
from flask_login import current_user
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, func, insert

from app import create_app
from app.access import access
from app.db import db
from app.domain.access import Permission

# The benchmark's own table: created and dropped by bench.crf_save (CREATE TABLE IF NOT
# EXISTS), never by the application's models or migrations.
BASELINE = Table(
    "bench_baseline_saves", MetaData(),
    Column("id", Integer, primary_key=True),
    Column("visit_id", Integer, nullable=False),
    Column("form_code", String(40), nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("fields", Integer, nullable=False),  # how many form fields the request carried
    Column("saved_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
BASELINE_PATH = "/bench/baseline/visits/<int:visit_id>/forms/<form_code>"
WORKER_HEADER = "X-Bench-Worker"  # which gunicorn worker answered: the client balances on it


@access(Permission.VIEW_SITE)  # the CRF save's rule
def baseline_save(visit_id: int, form_code: str) -> Response:
    """One INSERT for the posted form (already parsed and CSRF-checked), then the redirect."""
    db.session.execute(insert(BASELINE).values(visit_id=visit_id, form_code=form_code,
                                               user_id=current_user.id,
                                               fields=len(request.form)))
    db.session.commit()
    return redirect(request.path)


def _worker_header(response: Response) -> Response:
    response.headers[WORKER_HEADER] = str(os.getpid())
    return response


def build() -> Flask:
    """The application for gunicorn (its factory: importing this module builds nothing)."""
    application = create_app({
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "SECRET_KEY": "bench-crf-save",  # fixed: every worker signs cookies alike
        "APP_ENV": "development",  # plain http: cookies without the Secure flag
        "SESSION_COOKIE_SECURE": False,
        "SCHEDULER_ENABLED": False,
    })
    application.add_url_rule(BASELINE_PATH, "bench_baseline", baseline_save, methods=["POST"])
    application.after_request(_worker_header)
    return application
