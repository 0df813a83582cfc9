"""The benchmark database: a PostgreSQL schema of its own (or a SQLite file), built by the
migrations like the test databases, and bulk writing for the generator (COPY on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy import Connection, Engine, Table, insert, text

from app.db import make_engine
from app.models import Base
from tests.support import database as built

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCHEMA = "bench"


def prepare(url: str, schema: str = SCHEMA) -> str:
    """An empty database at the migrations' head; returns the URL to connect to."""
    if built.is_postgres(url):
        built.reset_postgres(url, schema)
        url = built.with_search_path(url, schema)
    else:
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    built.migrate(url)
    return url


def located(url: str, schema: str = SCHEMA) -> str:
    """The URL of an already prepared benchmark database."""
    return built.with_search_path(url, schema) if built.is_postgres(url) else url


def engine(url: str, **kwargs) -> Engine:
    return make_engine(url, **kwargs)


def table(name: str) -> Table:
    return Base.metadata.tables[name]


def write_rows(conn: Connection, name: str, columns: Sequence[str],
               rows: Iterable[Sequence]) -> int:
    """Append rows to a table: COPY on PostgreSQL, batched INSERTs on SQLite."""
    if conn.dialect.name == "postgresql":
        return _copy(conn, name, columns, rows)
    count, batch, stmt = 0, [], insert(table(name))
    for row in rows:
        batch.append(dict(zip(columns, row, strict=True)))
        if len(batch) == 5000:
            conn.execute(stmt, batch)
            count, batch = count + len(batch), []
    if batch:
        conn.execute(stmt, batch)
    return count + len(batch)


def _copy(conn: Connection, name: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    count = 0
    from psycopg.copy import QueuedLibpqWriter

    cursor = conn.connection.dbapi_connection.cursor()
    # a writer thread sends while this one formats rows: both cores work
    with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN",
                     writer=QueuedLibpqWriter(cursor)) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def next_id(conn: Connection, name: str) -> int:
    return (conn.scalar(text(f"SELECT max(id) FROM {name}")) or 0) + 1


def advance_sequences(conn: Connection, names: Iterable[str]) -> None:
    """PostgreSQL: ids were given explicitly, so move each id sequence past them."""
    if conn.dialect.name != "postgresql":
        return
    for name in names:
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                          f"coalesce((SELECT max(id) FROM {name}), 0) + 1, false)"))


def analyze(conn: Connection) -> None:
    conn.execute(text("ANALYZE"))
