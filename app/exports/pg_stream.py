"""A SELECT's rows as PostgreSQL produces them: libpq's chunked rows mode, through psycopg's
`Cursor.stream`.

A server-side cursor (SQLAlchemy's `stream_results`) makes the database wait between FETCHes
while Python works on the rows it has: the export's profile showed the database idle for as
long as it worked. Streamed, the query runs on while the rows queue in the socket, and the
memory held is still one chunk of rows.

SQLAlchemy does not stream this way, so the statement is compiled here and the rows come
back as tuples. What SQLAlchemy would still have done to them is done here too: the
`process_result_value` of TypeDecorator columns (UTCDateTime); psycopg's own conversions are
those SQLAlchemy's psycopg dialect relies on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import Connection
from sqlalchemy.sql import Select
from sqlalchemy.types import TypeDecorator


def streamed(conn: Connection, stmt: Select, size: int) -> Iterator[Sequence]:
    """The rows of `stmt`, `size` at a time from the server; closing the iterator early
    cancels the query (psycopg does)."""
    dialect = conn.dialect
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    if any(isinstance(b.type, TypeDecorator) for b in compiled.binds.values()):
        raise NotImplementedError("bound values that a TypeDecorator converts")
    processors = [(n, c.type) for n, c in enumerate(stmt.selected_columns)
                  if isinstance(c.type, TypeDecorator)]  # a few columns of many: only those
    cursor = conn.connection.dbapi_connection.cursor()
    rows = cursor.stream(compiled.string, compiled.params, size=size)
    try:
        if not processors:
            yield from rows
            return
        for row in rows:
            row = list(row)
            for n, type_ in processors:
                row[n] = type_.process_result_value(row[n], dialect)
            yield row
    finally:
        rows.close()
        cursor.close()
