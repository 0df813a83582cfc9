from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import User
from tests.conftest import login


def test_create_user_grant_role_and_deactivate(client, session, two_sites):
    login(client, "root-admin")
    resp = client.post("/admin/users/new", data={
        "username": "newbie", "full_name": "New Bie", "email": "newbie@example.org",
        "password": "long enough secret"})
    assert resp.status_code == 302
    user = session.scalar(select(User).where(User.username == "newbie"))
    resp = client.post(f"/admin/users/{user.id}/grants",
                       data={"role": "monitor", "site": "SITEB", "study": ""})
    assert resp.status_code == 302
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Monitor" in page and "SITEB" in page
    resp = client.post(f"/admin/users/{user.id}/active",
                       data={"version": str(user.version), "reason": "left the unit"})
    assert resp.status_code == 302
    session.rollback()  # end the read snapshot, see what others committed
    session.expire_all()
    assert session.get(User, user.id).active is False
    actions = session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_id == user.id, AuditEvent.entity_type == "users")).all()
    assert {"create", "grant", "update"} <= set(actions)


def test_bad_input_keeps_what_was_typed(client, two_sites):
    login(client, "root-admin")
    resp = client.post("/admin/users/new", data={
        "username": "coord-a", "full_name": "Dup Licate", "email": "dup@example.org",
        "password": "long enough secret"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "never reused" in page
    assert 'value="Dup Licate"' in page and 'value="dup@example.org"' in page
    resp = client.post("/admin/users/new", data={
        "username": "shorty", "full_name": "S", "email": "s@example.org", "password": "short"})
    assert "at least 12 characters" in resp.get_data(as_text=True)


def test_site_form_rejects_unknown_time_zone(client, two_sites):
    login(client, "root-admin")
    resp = client.post("/admin/sites/new", data={"code": "MARS", "name": "Mars base",
                                                 "timezone": "Mars/Olympus"})
    page = resp.get_data(as_text=True)
    assert "Not an IANA time zone" in page and 'value="Mars base"' in page


def test_stale_deactivation_is_a_conflict(client, session, two_sites):
    login(client, "root-admin")
    target = two_sites["coord_b"]
    resp = client.post(f"/admin/users/{target.id}/active",
                       data={"version": str(target.version - 1), "reason": ""})
    assert resp.status_code == 302
    session.rollback()  # end the read snapshot, see what others committed
    session.expire_all()
    assert session.get(User, target.id).active is True


def test_admin_cannot_deactivate_self(client, session, two_sites):
    login(client, "root-admin")
    me = two_sites["admin"]
    client.post(f"/admin/users/{me.id}/active", data={"version": str(me.version)})
    session.rollback()  # end the read snapshot, see what others committed
    session.expire_all()
    assert session.get(User, me.id).active is True


def test_audit_page_lists_events(client, two_sites):
    login(client, "root-admin")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "login" in page and "SITEA" in page


def test_site_reminder_settings(client, session, two_sites):
    from app.sites.models import Site

    login(client, "root-admin")
    page = client.get("/admin/sites/SITEA/reminders").get_data(as_text=True)
    assert 'value="7"' in page
    resp = client.post("/admin/sites/SITEA/reminders", data={
        "version": "1", "reminder_lead_days": "5", "kinds": ["due", "missed"],
        "reminder_digest": "", "reason": "site asked for fewer emails"})
    assert resp.status_code == 302
    session.rollback()
    session.expire_all()
    site = session.scalar(select(Site).where(Site.code == "SITEA"))
    assert (site.reminder_lead_days, site.reminder_kinds, site.reminder_digest) == \
        (5, "due,missed", False)
    client.post("/logout")
    login(client, "coord-a")
    assert client.get("/admin/sites/SITEA/reminders").status_code == 403
