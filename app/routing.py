"""URL converters: an <int:…> larger than a database id is a 404, never a driver overflow."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # the largest value of an INTEGER primary key on PostgreSQL


class IdConverter(IntegerConverter):
    def __init__(self, url_map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = MAX_ID, signed: bool = False) -> None:
        super().__init__(url_map, fixed_digits, min, max, signed)


def init_routing(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
