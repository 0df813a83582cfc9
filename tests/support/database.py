"""Test databases are built by the migrations, never by create_all."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from app.config import PROJECT_ROOT
from app.db import make_engine
from app.models import Base


def alembic_config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    return config


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def reset_postgres(url: str, schema: str = "public") -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()


def with_search_path(url: str, schema: str) -> str:
    """The URL with libpq's options setting the schema every connection works in."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def drop_schema(url: str, schema: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()


def migrate(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


def empty_all_tables(engine: Engine) -> None:
    """Between tests: every row goes, the schema stays."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:  # DELETE: on tables this small, faster than TRUNCATE
        for table in tables:
            conn.execute(text(f"DELETE FROM {table}"))
