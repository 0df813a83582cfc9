"""Routes for queries; every one carries an access rule."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("queries", __name__, url_prefix="/queries")
