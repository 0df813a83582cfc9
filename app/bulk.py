"""Many rows into one table in one statement, for the write paths that add dozens at once
(a CRF's values).

executemany binds every value of every row as a parameter of its own: for a 40-field CRF
that is a millisecond of Python. On PostgreSQL the rows travel as one JSON parameter and
the database unpacks them (json_to_recordset), in order; other databases get executemany.
Values go through their column type's bind processing first, as an ORM insert would.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, TextClause, insert, text
from sqlalchemy.dialects import postgresql

POSTGRESQL = postgresql.dialect()  # compiles the column types of the JSON record


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (all with the same keys) in their order."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        return
    names = tuple(rows[0])
    processors = [table.c[n].type.bind_processor(conn.dialect) for n in names]
    values = [[p(row[n]) if p else row[n] for n, p in zip(names, processors, strict=True)]
              for row in rows]
    payload = json.dumps([dict(zip(names, v, strict=True)) for v in values], default=_as_text,
                         ensure_ascii=False)
    conn.execute(_statement(table, names), {"rows": payload})


@cache
def _statement(table: Table, names: tuple[str, ...]) -> TextClause:
    columns = ", ".join(names)
    typed = ", ".join(f"{n} {table.c[n].type.compile(dialect=POSTGRESQL)}" for n in names)
    return text(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM "
                f"ROWS FROM (json_to_recordset(CAST(:rows AS json)) AS ({typed})) "
                f"WITH ORDINALITY AS t({columns}, n) ORDER BY n")


def _as_text(value: Any) -> str:
    """Numbers and times as their exact text: the column's type reads it back unchanged."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be sent as JSON")
