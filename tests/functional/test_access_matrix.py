"""Every route × every role held at site A × an object of site B: refused, and nothing leaks.

Routes are read from the URL map, so a new route is covered the day it is added; a route
with a parameter this test does not know fails it until the parameter is mapped below.
Pages without a site B object (lists, counts, calendars, dashboards, feeds) are fetched
by every role and must not mention site B at all.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.api import tokens
from app.crf.models import CrfEntry, ItemValue
from app.domain.access import Role
from app.feeds import services as feeds
from app.locks.models import Lock
from app.models import Base
from app.notify.models import OutboxMessage
from app.queries.models import Query, QueryMessage
from app.signatures.models import Signature
from app.visits import services as visit_services
from tests.conftest import login
from tests.support import factories

MARKER = "SITEB"  # site B's code: also in its name and its participants' codes
# Administrators hold their role at every site (a site-scoped admin grant is refused).
ROLES_AT_A = [Role.COORDINATOR, Role.INVESTIGATOR, Role.MONITOR, Role.DATA_MANAGER]
# Rows a refused request may still write: the login itself and its session.
NOT_COMPARED = {"audit_events", "audit_chain", "auth_sessions", "login_throttles", "users"}
# Routes reached by possession of a secret, not by a login: covered in test_feeds.py.
BY_TOKEN = {"feeds.feed", "static"}
# Endpoints whose <code> is a site's code (elsewhere it is a study's).
SITE_CODE_ENDPOINTS = ("admin.", "sites.")


@pytest.fixture
def site_b_world(session, two_sites):
    """A participant of site B with a CRF, a query, a signature, a lock, an e-mail and a feed."""
    b, coord_b = two_sites["b"], two_sites["coord_b"]
    participant = factories.enrolled(session, b, "CS20AT04", date.today() - timedelta(days=40),
                                     coord_b, number="B01")
    visit = next(v for v in participant.visits
                 if visit_services.schedule_of(participant).visit(v.code).forms)
    form_code = visit_services.schedule_of(participant).visit(visit.code).forms[0]
    entry = CrfEntry(site_id=b.id, participant_id=participant.id, visit_id=visit.id,
                     form_code=form_code, sequence=1,
                     protocol_version_id=participant.protocol_version_id)
    entry.values.append(ItemValue(item_code="SITEB_ITEM", value="SITEB value"))
    session.add(entry)
    session.flush()
    query = Query(site_id=b.id, study_id=participant.study_id, participant_id=participant.id,
                  entry_id=entry.id, item_code="SITEB_ITEM", opened_by_id=coord_b.id)
    query.messages.append(QueryMessage(author_id=coord_b.id, action="raise",
                                       text="SITEB query text"))
    signature = Signature(target="crf", target_id=entry.id, site_id=b.id,
                          study_id=participant.study_id, signer_id=coord_b.id,
                          printed_name="SITEB signer", meaning="SITEB meaning",
                          content_hash="0" * 64)
    lock = Lock(scope="participant", target_id=participant.id, study_id=participant.study_id,
                site_id=b.id, locked_by_id=two_sites["admin"].id, reason="SITEB lock")
    mail = OutboxMessage(dedupe_key="SITEB-mail", message_id="<SITEB@test>", site_id=b.id,
                         user_id=coord_b.id, recipient="coord-b@example.org",
                         subject="SITEB reminder", body_text="SITEB", body_html="SITEB")
    session.add_all([query, signature, lock, mail])
    feed = feeds.create(session, coord_b, b, actor=coord_b).feed
    api_token = tokens.create(session, coord_b, "SITEB script").token
    session.commit()
    grant_id = coord_b.grants[0].id
    return {
        "participant_id": participant.id, "visit_id": visit.id, "screening_id":
        participant.screening_id, "entry_id": entry.id, "query_id": query.id,
        "signature_id": signature.id, "lock_id": lock.id, "message_id": mail.id,
        "feed_id": feed.id, "user_id": coord_b.id, "grant_id": grant_id,
        "study_id": participant.study_id, "form_code": form_code, "sequence": 1,
        "item_code": "SITEB_ITEM", "study_code": participant.study.code,
        "token_id": api_token.id, "fmt": "odm.xml",  # XML: a leak would show in the text
    }


def _params(rule) -> list[str]:
    return re.findall(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", rule.rule)


def _url(rule, world: dict) -> tuple[str, bool]:
    """The rule's URL filled with site B's objects, and whether it names one of them."""
    names_b_object = False
    values = {}
    for name in _params(rule):
        if name == "code":
            is_site = rule.endpoint.startswith(SITE_CODE_ENDPOINTS)
            values[name] = MARKER if is_site else world["study_code"]
            names_b_object |= is_site
        elif name in world:
            values[name] = str(world[name])
            names_b_object |= name not in {"form_code", "sequence", "item_code", "fmt"}
        else:
            raise AssertionError(f"{rule.rule}: map the parameter {name!r} in this test")
    url = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", lambda m: values[m.group(1)], rule.rule)
    return url, names_b_object


def _snapshot(session) -> dict[str, list[tuple]]:
    session.rollback()
    session.expire_all()
    return {table.name: sorted(map(tuple, session.execute(select(table)).all()), key=repr)
            for table in Base.metadata.sorted_tables if table.name not in NOT_COMPARED}


def _routes(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint not in BY_TOKEN
            and r.endpoint != "auth.login" and r.endpoint != "auth.logout"]


@pytest.mark.parametrize("role", ROLES_AT_A, ids=lambda r: r.value)
def test_site_a_roles_never_reach_site_b(app, client, session, two_sites, site_b_world, role):
    factories.user(session, "someone-a", role, two_sites["a"])
    session.commit()
    assert login(client, "someone-a").status_code == 302
    before = _snapshot(session)
    refused, leaked = [], []
    for rule in _routes(app):
        url, names_b_object = _url(rule, site_b_world)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method != "GET" and not names_b_object:
                continue  # creating things of one's own is not a leak
            resp = client.open(url, method=method, data={"reason": "x", "password": "x"})
            if resp.status_code == 308:  # werkzeug's canonical URL for a route with defaults
                resp = client.open(resp.headers["Location"], method=method,
                                   data={"reason": "x", "password": "x"})
            body = resp.get_data(as_text=True)
            if names_b_object and resp.status_code not in (401, 403, 404):  # 401: the API
                refused.append(f"{method} {url} → {resp.status_code}")
            elif MARKER in body or MARKER in resp.headers.get("Location", ""):
                leaked.append(f"{method} {url} → {resp.status_code}")
    assert refused == [], f"{role}: site B objects reachable: {refused}"
    assert leaked == [], f"{role}: pages mentioning site B: {leaked}"
    assert _snapshot(session) == before, "a refused request changed data"


@pytest.mark.parametrize("role", ROLES_AT_A, ids=lambda r: r.value)
def test_site_a_api_tokens_never_reach_site_b(app, client, session, two_sites, site_b_world,
                                              role):
    someone = factories.user(session, "someone-a", role, two_sites["a"])
    headers = {"Authorization": f"Bearer {tokens.create(session, someone, 'x').secret}"}
    session.commit()
    before = _snapshot(session)
    refused, leaked = [], []
    for rule in [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]:
        url, names_b_object = _url(rule, site_b_world)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            resp = client.open(url, method=method, headers=headers,
                               json={"version": 0, "values": {}, "actual_date": "2026-01-01"})
            if names_b_object and resp.status_code not in (403, 404):
                refused.append(f"{method} {url} → {resp.status_code}")
            elif MARKER in resp.get_data(as_text=True):
                leaked.append(f"{method} {url} → {resp.status_code}")
    assert refused == [] and leaked == [], (refused, leaked)
    assert _snapshot(session) == before


@pytest.mark.parametrize("role", ROLES_AT_A, ids=lambda r: r.value)
def test_site_a_feeds_hold_nothing_of_site_b(app, client, session, two_sites, site_b_world,
                                             role):
    someone = factories.user(session, "someone-a", role, two_sites["a"])
    personal = feeds.create(session, someone, None, actor=someone).token
    site_feed = feeds.create(session, someone, two_sites["a"], actor=someone).token
    session.commit()
    for token in (personal, site_feed):
        resp = client.get(f"/feeds/{token}.ics")
        assert resp.status_code == 200
        assert MARKER not in resp.get_data(as_text=True)


def test_the_world_is_visible_to_its_own_site(client, session, two_sites, site_b_world):
    """The same requests succeed for site B's coordinator, so the refusals above mean something."""
    login(client, "coord-b")
    for url in (f"/participants/{site_b_world['participant_id']}",
                f"/visits/{site_b_world['visit_id']}",
                f"/visits/{site_b_world['visit_id']}/forms/{site_b_world['form_code']}"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert MARKER in resp.get_data(as_text=True)


def test_site_a_exports_hold_nothing_of_site_b(client, session, two_sites, site_b_world):
    import io
    import zipfile

    factories.user(session, "dm-a", Role.DATA_MANAGER, two_sites["a"])
    session.commit()
    login(client, "dm-a")
    resp = client.get(f"/exports/{site_b_world['study_code']}.csv.zip")
    assert resp.status_code == 200
    with zipfile.ZipFile(io.BytesIO(resp.get_data())) as archive:
        for name in archive.namelist():
            assert MARKER not in archive.read(name).decode(), name
