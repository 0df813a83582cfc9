"""An API answer other than 200, raised anywhere in the API and written as JSON."""

from __future__ import annotations

from typing import Any


class Problem(Exception):
    """Status, message, per-field problems, and anything else the client needs (e.g. moves)."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.status, self.fields, self.extra = status, fields or {}, extra
