"""Backups: SQLite's online backup API, or pg_dump/pg_restore for PostgreSQL."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    pass


def _sqlite_path(url: str) -> Path:
    return Path(make_url(url).database or "")


def _libpq(url: str) -> tuple[str, list[str]]:
    """A libpq URL for the command-line tools, and the schema the app works in (if any)."""
    parsed = make_url(url).set(drivername="postgresql")
    options = parse_qs(urlsplit(parsed.render_as_string(hide_password=False)).query)
    schema = [o.split("=", 1)[1] for opt in options.get("options", [])
              for o in opt.split() if o.startswith("-csearch_path=")]
    plain = parsed.set(query={})
    return plain.render_as_string(hide_password=False), schema


def backup(url: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        with sqlite3.connect(_sqlite_path(url)) as source, sqlite3.connect(target) as copy:
            source.backup(copy)  # consistent even while the app writes
        return
    dsn, schema = _libpq(url)
    _run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}",
          *(f"--schema={s}" for s in schema), dsn])


def restore(url: str, source: Path) -> None:
    if not source.exists():
        raise BackupError(f"no backup at {source}")
    if url.startswith("sqlite"):
        with sqlite3.connect(source) as copy, sqlite3.connect(_sqlite_path(url)) as live:
            copy.backup(live)
        return
    dsn, _schema = _libpq(url)
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
          f"--dbname={dsn}", str(source)])


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[:500]}")
