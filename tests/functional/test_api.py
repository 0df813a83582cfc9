"""The JSON API: tokens, reading, and writes through the browser's validation, units and audit."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.api import tokens
from app.api.models import ApiToken
from app.audit.models import AuditEvent
from app.crf.models import CrfEntry
from app.domain.access import Role
from app.locks.models import Lock
from app.visits import services as visit_services
from tests.conftest import login
from tests.support import factories


@pytest.fixture
def api_world(session, two_sites):
    start = date.today() - timedelta(days=20)
    pa = factories.enrolled(session, two_sites["a"], "CS20AT04", start, two_sites["coord_a"],
                            number="A01")
    pb = factories.enrolled(session, two_sites["b"], "CS20AT04", start, two_sites["coord_b"],
                            number="B01")
    visit = next(v for v in pa.visits
                 if "LAB" in visit_services.schedule_of(pa).visit(v.code).forms)
    monitor = factories.user(session, "monitor-a", Role.MONITOR, two_sites["a"])
    world = {"a": pa, "b": pb, "visit": visit,
             "coord": tokens.create(session, two_sites["coord_a"], "script").secret,
             "monitor": tokens.create(session, monitor, "reader").secret}
    session.commit()
    return world


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_no_token_is_401_and_a_browser_cookie_is_not_enough(client, api_world):
    assert client.get("/api/v1/participants").status_code == 401
    login(client, "coord-a")
    resp = client.get("/api/v1/participants")
    assert resp.status_code == 401 and resp.is_json
    assert client.get("/api/v1/participants",
                      headers=_auth("ecrf_not-a-token")).status_code == 401


def test_lists_only_the_tokens_owners_sites(client, api_world):
    resp = client.get("/api/v1/participants", headers=_auth(api_world["coord"]))
    assert resp.status_code == 200
    codes = [p["participant_code"] for p in resp.json["participants"]]
    assert codes == ["SITEA-A01"]
    assert "arm" not in resp.json["participants"][0]
    other = client.get(f"/api/v1/participants/{api_world['b'].id}",
                       headers=_auth(api_world["coord"]))
    assert other.status_code == 404 and other.is_json


def test_participant_and_visit_detail(client, api_world):
    headers = _auth(api_world["coord"])
    detail = client.get(f"/api/v1/participants/{api_world['a'].id}", headers=headers).json
    assert {v["code"] for v in detail["visits"]} >= {api_world["visit"].code}
    visit = client.get(f"/api/v1/visits/{api_world['visit'].id}", headers=headers).json
    assert "LAB" in {f["code"] for f in visit["forms"]}


def test_saving_a_crf_converts_units_and_audits_the_token_owner(client, session, api_world):
    url = f"/api/v1/visits/{api_world['visit'].id}/forms/LAB/1"
    headers = _auth(api_world["coord"])
    assert client.get(url, headers=headers).json["version"] == 0
    resp = client.put(url, headers=headers, json={
        "version": 0, "values": {"HGB": {"value": 120, "unit": "g/L"}}})
    assert resp.status_code == 200, resp.json
    assert resp.json["values"]["HGB"]["standard_value"] == "12"
    assert resp.json["values"]["HGB"]["standard_unit"] == "g/dL"
    session.rollback()
    event = session.scalars(select(AuditEvent).where(AuditEvent.field == "HGB")).one()
    assert event.actor.username == "coord-a" and event.new_value == "120 g/L"


def test_a_change_needs_a_reason_and_the_version_read(client, api_world):
    url = f"/api/v1/visits/{api_world['visit'].id}/forms/LAB/1"
    headers = _auth(api_world["coord"])
    first = client.put(url, headers=headers, json={
        "version": 0, "values": {"HGB": {"value": "12", "unit": "g/dL"}}}).json["version"]
    no_reason = client.put(url, headers=headers, json={
        "version": first, "values": {"HGB": {"value": "13", "unit": "g/dL"}}})
    assert no_reason.status_code == 422 and "reason" in no_reason.json["problems"]
    stale = client.put(url, headers=headers, json={
        "version": 0, "values": {"HGB": {"value": "13", "unit": "g/dL"}}, "reason": "typo"})
    assert stale.status_code == 409 and stale.json["current"]["version"] == first
    ok = client.put(url, headers=headers, json={
        "version": first, "values": {"HGB": {"value": "13", "unit": "g/dL"}}, "reason": "typo"})
    assert ok.status_code == 200 and ok.json["values"]["HGB"]["value"] == "13"


def test_bad_values_save_nothing_and_are_named(client, session, api_world):
    url = f"/api/v1/visits/{api_world['visit'].id}/forms/LAB/1"
    resp = client.put(url, headers=_auth(api_world["coord"]), json={
        "version": 0, "values": {"HGB": {"value": "12", "unit": "furlongs"},
                                 "NOPE": "1"}})
    assert resp.status_code == 422
    assert set(resp.json["problems"]) == {"NOPE"}
    resp = client.put(url, headers=_auth(api_world["coord"]), json={
        "version": 0, "values": {"HGB": {"value": "12", "unit": "furlongs"}}})
    assert resp.status_code == 422 and "accepted units" in resp.json["problems"]["HGB"]
    session.rollback()
    assert session.scalar(select(CrfEntry).where(CrfEntry.form_code == "LAB")) is None


def test_a_monitor_reads_but_cannot_write(client, api_world):
    url = f"/api/v1/visits/{api_world['visit'].id}/forms/LAB/1"
    headers = _auth(api_world["monitor"])
    assert client.get(url, headers=headers).status_code == 200
    assert client.put(url, headers=headers, json={"version": 0, "values": {}}).status_code == 403


def test_locked_data_is_refused(client, session, two_sites, api_world):
    session.add(Lock(scope="participant", target_id=api_world["a"].id,
                     study_id=api_world["a"].study_id, site_id=two_sites["a"].id,
                     locked_by_id=two_sites["admin"].id))
    session.commit()
    url = f"/api/v1/visits/{api_world['visit'].id}/forms/LAB/1"
    resp = client.put(url, headers=_auth(api_world["coord"]), json={
        "version": 0, "values": {"HGB": {"value": "12", "unit": "g/dL"}}})
    assert resp.status_code == 409


def test_recording_a_visit_date(client, api_world):
    visit = api_world["visit"]
    url = f"/api/v1/visits/{visit.id}/date"
    headers = _auth(api_world["coord"])
    future = client.put(url, headers=headers,
                        json={"actual_date": (date.today() + timedelta(days=9)).isoformat()})
    assert future.status_code == 422 and "actual_date" in future.json["problems"]
    resp = client.put(url, headers=headers, json={"actual_date": visit.target_date.isoformat(),
                                                  "confirm_moves": True})
    assert resp.status_code == 200 and resp.json["actual_date"] == visit.target_date.isoformat()


def test_tokens_are_created_once_and_revoked_on_the_account_page(client, session, api_world):
    login(client, "coord-a")
    page = client.post("/account/tokens", data={"name": "lab import"}).get_data(as_text=True)
    secret = page.split('id="new-token" value="')[1].split('"')[0]
    assert client.get("/api/v1/participants", headers=_auth(secret)).status_code == 200
    assert secret not in client.get("/account/").get_data(as_text=True)
    session.rollback()
    token_id = session.scalars(select(ApiToken.id).where(ApiToken.name == "lab import")).one()
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 302
    assert client.get("/api/v1/participants", headers=_auth(secret)).status_code == 401


def test_someone_elses_token_cannot_be_revoked(client, session, api_world):
    login(client, "coord-b")
    token_id = session.scalars(select(ApiToken.id).where(ApiToken.name == "script")).one()
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 404


@pytest.mark.parametrize("value", [{"value": ["a", 1]}, ["a"], {"x": 1}, "x" * 2001])
def test_text_items_take_text_only(client, api_world, value):
    visit = next(v for v in api_world["a"].visits
                 if "AE" in visit_services.schedule_of(api_world["a"]).visit(v.code).forms)
    resp = client.put(f"/api/v1/visits/{visit.id}/forms/AE/1", headers=_auth(api_world["coord"]),
                      json={"version": 0, "values": {"AETERM": value}})
    assert resp.status_code == 422 and "AETERM" in resp.json["problems"]


@pytest.mark.parametrize("code,value", [("HGB", {"value": "1e40", "unit": "g/dL"}),
                                        ("ALT", {"value": "12", "unit": "U/L", "uln": "9" * 50}),
                                        ("HGB", {"value": "NaN", "unit": "g/dL"})])
def test_numbers_must_be_storable(client, api_world, code, value):
    url = f"/api/v1/visits/{api_world['visit'].id}/forms/LAB/1"
    resp = client.put(url, headers=_auth(api_world["coord"]),
                      json={"version": 0, "values": {code: value}})
    assert resp.status_code == 422 and code in resp.json["problems"]


def test_a_nul_character_is_a_400_not_a_database_error(client, api_world):
    """PostgreSQL text cannot hold NUL: refused before any view, in the API's JSON and on
    the browser's forms alike (schemathesis found `?site=%00`)."""
    headers = _auth(api_world["coord"])
    resp = client.get("/api/v1/participants?site=%00", headers=headers)
    assert resp.status_code == 400 and "NUL" in resp.json["error"]
    url = f"/api/v1/visits/{api_world['visit'].id}/forms/LAB"
    resp = client.put(url, headers=headers, json={"version": 0, "values": {"HGB": "\x00"}})
    assert resp.status_code == 400
    login(client, "coord-a")
    resp = client.post(f"/visits/{api_world['visit'].id}/forms/LAB",
                       data={"HGB-value": "1\x002", "entry_version": "0"})
    assert resp.status_code == 400


def test_a_nul_character_on_an_unrouted_api_url_is_json_too(client, api_world):
    resp = client.put("/api/v1/visits/20046716394/date", headers=_auth(api_world["coord"]),
                      json={"reason": "a\u0000b"})
    assert resp.status_code == 400 and resp.is_json and "NUL" in resp.json["error"]
