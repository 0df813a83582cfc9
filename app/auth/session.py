"""Flask-Login wiring: the cookie holds a login-session token, checked against the database."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask, current_app, request, session

from app.api import tokens as api_tokens
from app.auth.models import User
from app.auth.services import LoginLimits, SessionLimits, load_session_user
from app.db import db
from app.extensions import login_manager
from app.model_base import utcnow

API_PREFIX = "/api/"
EXPIRED_FLAG = "session_expired"  # set in the cleared cookie; the login page flashes it
EXPIRED_MESSAGE = "Your session has expired; please sign in again."


def now() -> datetime:
    """The current time; tests inject another through app.config['CLOCK']."""
    return current_app.config.get("CLOCK", utcnow)()


def login_limits() -> LoginLimits:
    cfg = current_app.config
    return LoginLimits(max_failures=cfg["LOGIN_MAX_FAILURES"],
                       window=timedelta(minutes=cfg["LOGIN_FAILURE_WINDOW_MINUTES"]),
                       lockout=timedelta(minutes=cfg["LOGIN_LOCKOUT_MINUTES"]))


def session_limits() -> SessionLimits:
    cfg = current_app.config
    return SessionLimits(idle=timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]),
                         max_age=timedelta(hours=cfg["SESSION_MAX_HOURS"]))


def _expired(_why: str) -> None:
    session.clear()
    session[EXPIRED_FLAG] = True


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def init_login(app: Flask) -> None:
    login_manager.init_app(app)

    @login_manager.user_loader
    def _load(token: str) -> User | None:
        if is_api_request():
            return None  # the API answers bearer tokens only, never a browser's cookie
        return load_session_user(db.session, token, now=now(), limits=session_limits(),
                                 on_expired=_expired)

    @login_manager.request_loader
    def _load_bearer(req) -> User | None:
        scheme, _, secret = req.headers.get("Authorization", "").partition(" ")
        if not is_api_request() or scheme.lower() != "bearer" or not secret.strip():
            return None
        return api_tokens.resolve(db.session, secret.strip())
