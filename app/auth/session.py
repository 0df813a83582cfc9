"""Flask-Login wiring: the cookie holds a login-session token, checked against the database."""

from __future__ import annotations

from flask import Flask

from app.auth.models import User
from app.auth.services import load_session_user
from app.db import db
from app.extensions import login_manager


def init_login(app: Flask) -> None:
    login_manager.init_app(app)

    @login_manager.user_loader
    def _load(token: str) -> User | None:
        return load_session_user(db.session, token)
