"""Security headers, and stored XSS payloads shown as text wherever they appear."""

import re
from pathlib import Path

from app.config import PROJECT_ROOT
from tests.conftest import login
from tests.support import factories

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_every_page_has_a_csp_without_inline_script(client, two_sites):
    for url in ("/login", "/"):
        resp = client.get(url)
        csp = resp.headers["Content-Security-Policy"]
        script = re.search(r"script-src ([^;]+)", csp).group(1)
        assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
        assert "frame-ancestors 'none'" in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"


def test_templates_hold_no_inline_script_or_handlers():
    for path in Path(PROJECT_ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        assert "<script" not in text, path
        assert not re.search(r"\son[a-z]+=", text), path


def test_stored_xss_in_names_is_shown_as_text(client, session, two_sites):
    site = factories.site(session, "XSS")
    site.name = PAYLOAD
    user = factories.user(session, "evil")
    user.full_name = PAYLOAD
    session.commit()
    login(client, "root-admin")
    for url in ("/admin/sites", "/admin/users", "/admin/audit", f"/sites/{site.code}",
                "/calendar/"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x" not in page, url
    assert "&lt;script&gt;" in client.get("/admin/sites").get_data(as_text=True)
