"""pytest-alembic runs against its own database: a fresh SQLite file, or its own PostgreSQL
schema, so that walking the migrations down and up never touches the suite's database."""

from __future__ import annotations

import os

import pytest
from pytest_alembic.config import Config as PytestAlembicConfig

from app.db import make_engine
from tests.support import database

MIGRATIONS_SCHEMA = f"migrations_check_{os.getpid()}"


@pytest.fixture
def alembic_config():
    return PytestAlembicConfig(config_options={"file": "alembic.ini", "configure_logger": False})


@pytest.fixture
def alembic_engine(tmp_path):
    url = os.environ.get("DATABASE_URL")
    if url and database.is_postgres(url):
        database.reset_postgres(url, MIGRATIONS_SCHEMA)
        engine = make_engine(url, connect_args={"options": f"-csearch_path={MIGRATIONS_SCHEMA}"})
    else:
        engine = make_engine(f"sqlite:///{tmp_path / 'migrations.sqlite3'}")
    yield engine
    engine.dispose()
    if url and database.is_postgres(url):
        database.drop_schema(url, MIGRATIONS_SCHEMA)
