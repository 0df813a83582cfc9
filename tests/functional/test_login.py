from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import AuthSession
from app.auth.services import find_user
from app.db import db
from tests.conftest import login, make_test_app


def test_login_page_renders(client):
    resp = client.get("/login")
    assert resp.status_code == 200
    assert b"Sign in" in resp.data


def test_wrong_password_is_refused_with_message_and_audited(client, two_sites, session):
    resp = login(client, "coord-a", "wrong password!")
    assert resp.status_code == 200
    assert b"Unknown username or wrong password." in resp.data
    assert b'value="coord-a"' in resp.data  # what was typed is kept
    actions = session.scalars(select(AuditEvent.action)).all()
    assert "login_failed" in actions


def test_login_then_logout(client, two_sites, session):
    resp = login(client, "COORD-A")  # usernames are case-insensitive
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    resp = client.post("/logout")
    assert resp.status_code == 302
    assert client.get("/").status_code == 302
    rows = session.scalars(select(AuthSession)).all()
    assert len(rows) == 1 and rows[0].ended_at is not None


def test_next_parameter_only_follows_local_paths(client, two_sites):
    resp = client.post("/login?next=https://evil.example/", data={
        "username": "coord-a", "password": "correct horse battery"})
    assert resp.headers["Location"] == "/"
    client.post("/logout")
    resp = client.post("/login?next=/sites/SITEA", data={
        "username": "coord-a", "password": "correct horse battery"})
    assert resp.headers["Location"] == "/sites/SITEA"


def test_new_session_on_login(client, two_sites):
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    login(client, "coord-a")
    with client.session_transaction() as sess:
        assert "planted" not in sess


def test_deactivated_user_is_signed_out_at_once(app, client, two_sites):
    login(client, "coord-a")
    assert client.get("/").status_code == 200
    from app.auth import services

    with app.app_context(), db.writing() as tx:
        services.set_active(tx, find_user(tx, "coord-a"), False, actor=None)
    assert client.get("/").status_code == 302
    assert login(client, "coord-a").status_code == 200  # refused


def test_session_cookie_flags(database_url, two_sites):
    app = make_test_app(database_url, SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    resp = login(client, "coord-a")
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    app.extensions["db_engine"].dispose()


def test_csrf_token_required(database_url, two_sites):
    app = make_test_app(database_url, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    resp = login(client, "coord-a")
    assert resp.status_code == 400
    app.extensions["db_engine"].dispose()
