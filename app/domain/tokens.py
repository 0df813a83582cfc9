"""Secret tokens (login sessions, calendar feeds, API tokens) are stored only as a digest."""

from __future__ import annotations

import hashlib


def digest(secret: str) -> str:
    """The SHA-256 a token is kept as: enough to recognise it, useless to anyone who reads it."""
    return hashlib.sha256(secret.encode()).hexdigest()
