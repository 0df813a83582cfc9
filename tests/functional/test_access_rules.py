"""Every route has an explicit access rule, and anonymous visitors only reach the login page."""

import re

from app.access import PUBLIC, rule_for

SAMPLE_ARGS = {"int": "1", "default": "X", "string": "X", "path": "X"}


def _sample_url(rule) -> str:
    def fill(match: re.Match) -> str:
        converter = match.group(1) or "default"
        if converter == "any":  # the first of the values it accepts
            return re.findall(r"'([^']*)'", match.group(2))[0]
        return SAMPLE_ARGS.get(converter, "X")

    return re.sub(r"<(?:(\w+)(?:\(([^)]*)\))?:)?\w+>", fill, rule.rule)


def test_every_route_has_an_access_rule(app):
    missing = [r.endpoint for r in app.url_map.iter_rules() if rule_for(app, r.endpoint) is None]
    assert missing == [], f"routes without an access rule: {missing}"


def test_anonymous_requests_go_to_login(app, client):
    for rule in app.url_map.iter_rules():
        if rule_for(app, rule.endpoint) == PUBLIC:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            resp = client.open(_sample_url(rule), method=method)
            if resp.status_code == 308:  # werkzeug's canonical URL for a route with defaults
                resp = client.open(resp.headers["Location"], method=method)
            if rule.endpoint.startswith("api."):  # a program gets a status, not a login page
                assert resp.status_code == 401 and resp.is_json, (rule.rule, resp.status_code)
                continue
            assert resp.status_code == 302, (rule.rule, method, resp.status_code)
            assert resp.headers["Location"].startswith("/login"), rule.rule


def test_an_endpoint_without_rule_is_closed(app, client, two_sites):
    app.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    client.post("/login", data={"username": "root-admin", "password": "correct horse battery"})
    assert client.get("/forgotten").status_code == 403
