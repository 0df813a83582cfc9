"""Fixtures shared by every layer of tests.

The database is SQLite in a temporary folder, or the PostgreSQL named by DATABASE_URL
(as .ci/run does). Either way it is built once per run by `alembic upgrade head` and
emptied after each test that used it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app import create_app
from tests.support import database, factories

pytest_plugins = ["tests.support.browser"]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url and database.is_postgres(url):
        # a schema of this run's own, so that two runs on one database never meet
        schema = f"test_run_{os.getpid()}"
        database.reset_postgres(url, schema)  # fails the run if PostgreSQL is unreachable
        url = database.with_search_path(url, schema)
        database.migrate(url)
        yield url
        database.drop_schema(url, schema)
        return
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    database.migrate(url)
    yield url


def make_test_app(database_url: str, **overrides) -> Flask:
    config = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "TESTING": True,
        **overrides,
    }
    return create_app(config)


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = make_test_app(database_url)
    yield app
    engine = app.extensions["db_engine"]
    database.empty_all_tables(engine)
    engine.dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session for arranging and checking data; commits are real.

    It is not the app's request session and pushes no app context, so requests made by
    the test client run exactly as they would in production.
    """
    with Session(bind=app.extensions["db_engine"], expire_on_commit=False) as s:
        yield s


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def two_sites(session: Session):
    """Site A (Seoul) and site B (Berlin), a coordinator at each, and an admin."""
    a = factories.site(session, "SITEA", "Asia/Seoul")
    b = factories.site(session, "SITEB", "Europe/Berlin")
    from app.domain.access import Role

    people = {
        "coord_a": factories.user(session, "coord-a", Role.COORDINATOR, a),
        "coord_b": factories.user(session, "coord-b", Role.COORDINATOR, b),
        "admin": factories.user(session, "root-admin", Role.ADMIN),
    }
    session.commit()
    return {"a": a, "b": b, **people}


def login(client: FlaskClient, username: str, password: str = factories.PASSWORD):
    return client.post("/login", data={"username": username, "password": password})


from hypothesis import settings as _hypothesis_settings  # noqa: E402

# A shared CI machine has slow moments; a deadline would make property tests flaky.
_hypothesis_settings.register_profile("default", deadline=None)
_hypothesis_settings.load_profile("default")


MINI = Path(__file__).parent / "data" / "mini"


@pytest.fixture
def mini_study(session: Session):
    """The small test study (tests/data/mini) stored as protocol version 1."""
    from app.studies import services as study_services

    (protocol,) = study_services.read_definitions(MINI / "schedules", MINI / "forms")
    study_services.store(session, protocol)
    session.commit()
    return protocol


@pytest.fixture
def smtp_server():
    from tests.support.smtp import SmtpServer

    server = SmtpServer()
    server.start()
    yield server
    server.stop()
