"""Application factory. Importing this package has no side effects."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask

from app.config import INSTANCE_DIR, PROJECT_ROOT, load_settings
from app.routing import init_routing


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        instance_path=str(INSTANCE_DIR),
    )
    app.config.update(load_settings(config))
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret_key()
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True

    init_routing(app)  # before any route is added: the routes' converters are bound then
    _bind_extensions(app)
    _register_blueprints(app)
    _register_commands(app)
    if app.config["SCHEDULER_ENABLED"]:
        from app.notify.scheduler import start_background

        start_background(app)
    return app


def _instance_secret_key() -> str:
    """A key kept in instance/ so that sessions survive a restart when SECRET_KEY is unset."""
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def _bind_extensions(app: Flask) -> None:
    from app import access, security
    from app.audit import chain  # noqa: F401 - registers the hash chain on every session
    from app.auth.session import init_login
    from app.db import db
    from app.extensions import csrf

    db.init_app(app)
    csrf.init_app(app)
    init_login(app)
    access.init_app(app)
    security.init_app(app)

    from app.templating import init_templating

    init_templating(app)


def _register_blueprints(app: Flask) -> None:
    from app.admin.views import bp as admin_bp
    from app.api.account import bp as account_bp
    from app.api.views import bp as api_bp
    from app.auth.views import bp as auth_bp
    from app.calendar.views import bp as calendar_bp
    from app.dashboard.views import bp as dashboard_bp
    from app.exports.views import bp as exports_bp
    from app.feeds.views import bp as feeds_bp
    from app.locks.views import bp as locks_bp
    from app.notify.views import bp as notify_bp
    from app.participants.views import bp as participants_bp
    from app.queries.views import bp as queries_bp
    from app.screening.views import bp as screening_bp
    from app.signatures.views import bp as signatures_bp
    from app.sites.views import bp as sites_bp
    from app.studies.views import bp as studies_bp
    from app.visits.views import bp as visits_bp

    for bp in (auth_bp, sites_bp, admin_bp, studies_bp, screening_bp, participants_bp,
               visits_bp, notify_bp, calendar_bp, dashboard_bp, feeds_bp, signatures_bp,
               queries_bp, locks_bp, exports_bp, api_bp, account_bp):
        app.register_blueprint(bp)


def _register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)
