"""Routes for locks; every one carries an access rule."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("locks", __name__, url_prefix="/locks")
