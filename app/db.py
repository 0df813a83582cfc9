"""Engine and session handling.

SQLite is set up for several writers: WAL, a busy timeout, foreign keys, and write
transactions that take the write lock at BEGIN (BEGIN IMMEDIATE). A deferred transaction
that reads and then writes cannot wait for the lock: SQLite fails it at once with
"database is locked". So every unsafe HTTP request and every `db.writing()` block
starts IMMEDIATE and queues behind the busy timeout instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def make_engine(url: str, busy_timeout_ms: int = 30_000, **kwargs: Any) -> Engine:
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, busy_timeout_ms)
    return engine


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """Binds engines to an app; hands out one session per request or app context."""

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"], app.config["SQLITE_BUSY_TIMEOUT_MS"])
        app.extensions["db_engine"] = engine
        app.extensions["db_write_engine"] = engine.execution_options(sqlite_immediate=True)
        app.teardown_appcontext(self._close)

    @property
    def engine(self) -> Engine:
        return current_app.extensions["db_engine"]

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            writing = has_request_context() and request.method not in SAFE_METHODS
            g.db_session = self._new_session(writing)
        return g.db_session

    def _new_session(self, writing: bool) -> Session:
        key = "db_write_engine" if writing else "db_engine"
        return Session(bind=current_app.extensions[key], expire_on_commit=False)

    def new_write_session(self) -> Session:
        """A session of its own, taking the write lock at its first statement (caller closes)."""
        return self._new_session(writing=True)

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A session of its own that holds the write lock from its first statement."""
        session = self._new_session(writing=True)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @staticmethod
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


db = Database()
