"""Every setting the application reads, with its default and what it is for.

Each one can be overridden by an environment variable of the same name; tests and
`create_app(config=...)` may override them with a mapping.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


# name -> (default, parser, one-line description)
SETTINGS: dict[str, tuple[Any, Any, str]] = {
    "APP_ENV": ("production", str, "production or development (relaxes cookie security)"),
    "SECRET_KEY": (None, str, "signs cookies and CSRF tokens; instance/secret_key if unset"),
    "DATABASE_URL": (
        f"sqlite:///{INSTANCE_DIR / 'ecrf.sqlite3'}",
        str,
        "SQLAlchemy URL; SQLite under instance/ by default, postgresql+psycopg://… in production",
    ),
    "SQLITE_BUSY_TIMEOUT_MS": (30_000, int, "how long a SQLite writer waits for the write lock"),
    "SESSION_COOKIE_SECURE": (None, _bool, "cookie only over HTTPS; on unless APP_ENV=development"),
    "SESSION_COOKIE_SAMESITE": ("Lax", str, "SameSite attribute of the session cookie"),
    "SESSION_COOKIE_HTTPONLY": (True, _bool, "the session cookie is invisible to scripts"),
    "WTF_CSRF_ENABLED": (True, _bool, "CSRF token required on every form post"),
    "WTF_CSRF_TIME_LIMIT": (None, lambda v: int(v) if v else None, "CSRF token lifetime (s)"),
    "FORMS_DIR": (str(PROJECT_ROOT / "forms"), str, "folder of CRF definitions"),
    "SCHEDULES_DIR": (str(PROJECT_ROOT / "schedules"), str, "folder of study definitions"),
    "MAIL_SERVER": ("127.0.0.1", str, "SMTP host for reminders"),
    "MAIL_PORT": (25, int, "SMTP port"),
    "MAIL_USE_TLS": (False, _bool, "STARTTLS after connecting"),
    "MAIL_USERNAME": (None, str, "SMTP login, if the server asks for one"),
    "MAIL_PASSWORD": (None, str, "SMTP password"),
    "MAIL_FROM": ("ecrf@localhost", str, "sender address of every email"),
    "BASE_URL": ("http://127.0.0.1:5000", str, "public address used in links inside emails"),
    "SCHEDULER_ENABLED": (False, _bool, "run the background scheduler inside this process"),
    "REMINDER_INTERVAL_SECONDS": (3600, int, "how often the sweep and the sender run"),
    "REMINDER_DIGEST_HOUR": (7, int, "site-local hour from which the day's reminders are sent"),
    "SMTP_TIMEOUT_SECONDS": (20, int, "connect/send timeout for the SMTP server"),
    "MAIL_RETRY_BASE_SECONDS": (60, int, "first retry delay after a temporary failure; doubles"),
    "MAIL_MAX_ATTEMPTS": (12, int, "temporary failures after which a message is marked failed"),
    "LOGIN_MAX_FAILURES": (5, int, "failed logins for one username that lock it"),
    "LOGIN_FAILURE_WINDOW_MINUTES": (15, int, "period in which those failed logins are counted"),
    "LOGIN_LOCKOUT_MINUTES": (15, int, "how long a locked username is refused (any password)"),
    "SESSION_IDLE_MINUTES": (30, int, "a login session without requests for this long ends"),
    "SESSION_MAX_HOURS": (12, int, "a login session ends this long after sign-in, active or not"),
}


def load_settings(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then the environment, then explicit overrides."""
    settings: dict[str, Any] = {}
    for name, (default, parse, _doc) in SETTINGS.items():
        raw = os.environ.get(name)
        settings[name] = parse(raw) if raw not in (None, "") else default
    settings.update(overrides or {})
    if settings["SESSION_COOKIE_SECURE"] is None:
        settings["SESSION_COOKIE_SECURE"] = settings["APP_ENV"] != "development"
    return settings
