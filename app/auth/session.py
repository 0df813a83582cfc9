"""Flask-Login wiring: the cookie holds a login-session token, checked against the database."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask, current_app, session

from app.auth.models import User
from app.auth.services import LoginLimits, SessionLimits, load_session_user
from app.db import db
from app.extensions import login_manager
from app.model_base import utcnow

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


def init_login(app: Flask) -> None:
    login_manager.init_app(app)

    @login_manager.user_loader
    def _load(token: str) -> User | None:
        return load_session_user(db.session, token, now=now(), limits=session_limits(),
                                 on_expired=_expired)
