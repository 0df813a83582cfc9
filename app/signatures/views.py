"""Routes for signatures; every one carries an access rule."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("signatures", __name__, url_prefix="/signatures")
