"""Login lockout (shared by every worker through the database) and session timeouts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import AuthSession
from app.model_base import utcnow
from tests.conftest import login, make_test_app

LOCKED = b"Too many failed attempts; try again later."
WRONG = b"Unknown username or wrong password."
EXPIRED = b"Your session has expired; please sign in again."


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def move(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app) -> Clock:
    clock = Clock()
    app.config["CLOCK"] = clock
    return clock


def fail(client, username: str, times: int):
    for _ in range(times):
        resp = login(client, username, "not the password")
    return resp


def test_five_failures_lock_the_username_even_with_the_right_password(
        client, clock, two_sites, session):
    assert WRONG in fail(client, "coord-a", 4).data
    assert LOCKED in fail(client, "coord-a", 1).data  # the fifth locks
    resp = login(client, "coord-a")
    assert resp.status_code == 200 and LOCKED in resp.data
    actions = session.scalars(select(AuditEvent.action)).all()
    assert actions.count("login_locked") == 1
    assert "login" not in actions


def test_lock_ends_after_the_lockout_period(client, clock, two_sites):
    fail(client, "coord-a", 5)
    clock.move(minutes=14)
    assert LOCKED in login(client, "coord-a").data
    clock.move(minutes=2)
    assert login(client, "coord-a").status_code == 302


def test_failures_outside_the_window_do_not_add_up(client, clock, two_sites):
    fail(client, "coord-a", 4)
    clock.move(minutes=16)
    assert WRONG in fail(client, "coord-a", 4).data
    assert login(client, "coord-a").status_code == 302


def test_success_resets_the_count(client, clock, two_sites):
    fail(client, "coord-a", 4)
    assert login(client, "coord-a").status_code == 302
    client.post("/logout")
    assert WRONG in fail(client, "coord-a", 4).data
    assert login(client, "coord-a").status_code == 302


def test_lockout_is_per_username(client, clock, two_sites):
    fail(client, "coord-a", 5)
    assert login(client, "coord-b").status_code == 302


def test_unknown_username_gets_the_same_answers(client, clock, two_sites):
    assert WRONG in fail(client, "nobody-here", 4).data
    assert LOCKED in fail(client, "nobody-here", 2).data


def test_count_is_shared_between_workers(app, clock, database_url, two_sites):
    other = make_test_app(database_url, CLOCK=clock)  # a second worker process, same database
    try:
        first, second = app.test_client(), other.test_client()
        fail(first, "coord-a", 2)
        fail(second, "Coord-A", 2)
        fail(first, "coord-a", 1)  # 5 in all: no worker saw more than 3
        assert LOCKED in login(second, "coord-a").data
        assert LOCKED in login(first, "coord-a").data
    finally:
        other.extensions["db_engine"].dispose()


def _session_row(session) -> AuthSession:
    session.rollback()  # a fresh snapshot: SQLite keeps showing the old one otherwise
    (row,) = session.scalars(select(AuthSession)).all()
    return row


def test_idle_timeout(client, clock, two_sites, session):
    assert login(client, "coord-a").status_code == 302
    clock.move(minutes=29)
    assert client.get("/").status_code == 200
    clock.move(minutes=31)
    resp = client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    page = client.get(resp.headers["Location"])
    assert EXPIRED in page.data
    row = _session_row(session)
    assert row.ended_at == clock.now
    assert "session_expired" in session.scalars(select(AuditEvent.action)).all()
    assert client.get("/").status_code == 302  # still signed out, no second message
    assert EXPIRED not in client.get("/login").data


def test_activity_keeps_the_session_alive_with_few_writes(client, clock, two_sites, session):
    login(client, "coord-a")
    started = _session_row(session).last_seen_at
    clock.move(seconds=30)
    assert client.get("/").status_code == 200
    assert _session_row(session).last_seen_at == started  # under a minute: not written
    for _ in range(6):  # 2 h of requests every 20 minutes
        clock.move(minutes=20)
        assert client.get("/").status_code == 200
    row = _session_row(session)
    assert row.last_seen_at == clock.now and row.ended_at is None


def test_absolute_timeout_even_with_activity(client, clock, two_sites, session):
    login(client, "coord-a")
    for _ in range(12 * 4 - 1):  # every 15 minutes, to 11 h 45
        clock.move(minutes=15)
        assert client.get("/").status_code == 200
    clock.move(minutes=16)  # 12 h 01
    resp = client.get("/", follow_redirects=True)
    assert EXPIRED in resp.data
    assert _session_row(session).ended_at == clock.now


def test_timeouts_follow_the_settings(database_url, two_sites, session):
    clock = Clock()
    app = make_test_app(database_url, CLOCK=clock, SESSION_IDLE_MINUTES=5)
    try:
        client = app.test_client()
        login(client, "coord-a")
        clock.move(minutes=6)
        assert EXPIRED in client.get("/", follow_redirects=True).data
    finally:
        app.extensions["db_engine"].dispose()


def _throttled(session) -> set[str]:
    from app.auth.models import LoginThrottle

    session.rollback()
    return set(session.scalars(select(LoginThrottle.username)))


def test_the_scheduled_job_prunes_throttle_rows_that_hold_nothing_back(
        app, client, clock, two_sites, session):
    from app.notify import jobs

    fail(client, "ghost-one", 2)  # unknown usernames: nobody would ever clear these rows
    fail(client, "ghost-two", 5)  # locked
    clock.move(minutes=10)
    fail(client, "coord-a", 1)  # a recent failure, still counted
    jobs.run_once(app)
    assert _throttled(session) == {"ghost-one", "ghost-two", "coord-a"}
    clock.move(minutes=6)  # ghost-one's window (15 min) and ghost-two's lock have passed
    jobs.run_once(app)
    assert _throttled(session) == {"coord-a"}
    clock.move(minutes=10)
    jobs.run_once(app)
    assert _throttled(session) == set()
    assert WRONG in fail(client, "coord-a", 4).data  # counting starts afresh


def test_pruning_keeps_a_lock_that_has_not_run_out(client, clock, two_sites, session):
    from app.auth.services import LoginLimits, prune_throttles

    fail(client, "coord-a", 5)
    clock.move(minutes=14)
    session.rollback()
    assert prune_throttles(session, clock.now, LoginLimits()) == 0
    session.commit()
    assert LOCKED in login(client, "coord-a").data


def test_admin_form_refuses_common_passwords_and_the_username(client, two_sites):
    login(client, "root-admin")
    new = {"username": "nurse-kim", "full_name": "Nurse Kim", "email": "kim@example.org"}
    resp = client.post("/admin/users/new", data={**new, "password": "Password1234!"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "one of the most common" in page
    assert 'value="Nurse Kim"' in page  # what was typed is kept
    resp = client.post("/admin/users/new", data={**new, "password": "I am nurse-kim, hello"})
    assert "Do not use your username" in resp.get_data(as_text=True)
    resp = client.post("/admin/users/new", data={**new, "password": "ward seven night shift"})
    assert resp.status_code == 302


def test_cli_refuses_common_passwords_and_the_username(app, session):
    from app.auth.models import User

    runner = app.test_cli_runner()
    args = ["users", "create", "nurse-lee", "--email", "lee@example.org", "--name", "Nurse Lee"]
    result = runner.invoke(args=args, env={"ECRF_PASSWORD": "qwertyuiop123"})
    assert result.exit_code == 1 and "password: This password is one of the most common" \
        in result.output
    result = runner.invoke(args=args, env={"ECRF_PASSWORD": "nurse-lee-2026-01"})
    assert result.exit_code == 1 and "username" in result.output
    assert session.scalars(select(User)).all() == []
    result = runner.invoke(args=args, env={"ECRF_PASSWORD": "ward seven night shift"})
    assert result.exit_code == 0, result.output
