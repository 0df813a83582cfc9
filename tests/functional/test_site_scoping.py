"""A coordinator of site A sees site A only; site B's objects are 404, not 403."""

from tests.conftest import login


def test_home_lists_only_own_sites(client, two_sites):
    login(client, "coord-a")
    page = client.get("/").get_data(as_text=True)
    assert "SITEA" in page and "SITEB" not in page


def test_other_sites_objects_are_404(client, two_sites):
    login(client, "coord-a")
    assert client.get("/sites/SITEA").status_code == 200
    assert client.get("/sites/SITEB").status_code == 404
    assert client.get("/sites/NOSUCH").status_code == 404


def test_admin_sees_every_site(client, two_sites):
    login(client, "root-admin")
    page = client.get("/").get_data(as_text=True)
    assert "SITEA" in page and "SITEB" in page
    assert client.get("/sites/SITEB").status_code == 200


def test_admin_pages_are_for_admins_only(client, two_sites):
    login(client, "coord-a")
    for url in ("/admin/users", "/admin/sites", "/admin/audit", "/admin/users/new"):
        assert client.get(url).status_code == 403, url
    assert client.post("/admin/sites/new", data={"code": "X", "name": "X",
                                                 "timezone": "UTC"}).status_code == 403


def test_user_without_roles_sees_no_site(client, session, two_sites):
    from tests.support import factories

    factories.user(session, "nobody")
    session.commit()
    login(client, "nobody")
    page = client.get("/").get_data(as_text=True)
    assert "no role at any site" in page
    assert client.get("/sites/SITEA").status_code == 403
