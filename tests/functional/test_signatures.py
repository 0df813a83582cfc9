"""Signing through HTTP: who may sign where, the password asked again through the form, and
what the CRF and visit pages show of each signature (name, local time, meaning, invalidation)."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.crf.models import CrfEntry
from app.domain.access import Role
from app.domain.signing import APPROVED, AUTHORED
from app.signatures.models import Signature
from app.templating import local_time
from app.visits.models import Visit
from tests.conftest import login
from tests.support import factories
from tests.support.factories import PASSWORD

DAY0 = date(2026, 3, 2)


@pytest.fixture
def visit(session, two_sites):
    factories.user(session, "pi-a", Role.INVESTIGATOR, two_sites["a"])
    factories.user(session, "pi-b", Role.INVESTIGATOR, two_sites["b"])
    p = factories.enrolled(session, two_sites["a"], "CS20AT04", DAY0, two_sites["coord_a"])
    session.commit()
    return session.scalar(select(Visit).where(Visit.participant_id == p.id,
                                              Visit.code == "INF1_W1"))


def _fresh(session, model, **where):
    session.rollback()
    session.expire_all()
    return session.scalar(select(model).filter_by(**where))


def _enter_pulse(client, visit, value="72", version="0", reason=None):
    data = {"PULSE-value": value, "PULSE-unit": "bpm", "entry_version": version}
    if reason:
        data["change_reason"] = reason
    resp = client.post(f"/visits/{visit.id}/forms/VS", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)


def _sign(client, url, password=PASSWORD, meaning=APPROVED):
    return client.post(url, data={"sign-meaning": meaning, "sign-password": password})


@pytest.fixture
def entry(client, session, visit):
    login(client, "coord-a")
    _enter_pulse(client, visit)
    client.post("/logout")
    return _fresh(session, CrfEntry, visit_id=visit.id, form_code="VS")


def test_a_coordinator_may_not_sign(client, entry, visit):
    login(client, "coord-a")
    assert _sign(client, f"/signatures/crf/{entry.id}").status_code == 403
    assert _sign(client, f"/signatures/visit/{visit.id}").status_code == 403
    page = client.get(f"/visits/{visit.id}/forms/VS").get_data(as_text=True)
    assert "Not signed yet." in page and "Sign this CRF" not in page


def test_another_sites_investigator_gets_404(client, session, entry, visit):
    login(client, "pi-b")
    assert _sign(client, f"/signatures/crf/{entry.id}").status_code == 404
    assert _sign(client, f"/signatures/visit/{visit.id}").status_code == 404
    assert _fresh(session, Signature) is None


def test_wrong_password_is_shown_next_to_the_field_and_keeps_the_meaning(client, session,
                                                                        entry, visit):
    login(client, "pi-a")
    page = client.get(f"/visits/{visit.id}/forms/VS").get_data(as_text=True)
    assert "Sign this CRF" in page and 'name="sign-password"' in page
    resp = _sign(client, f"/signatures/crf/{entry.id}", password="wrong password!",
                 meaning=AUTHORED)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/forms/VS#signatures")
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert re.search(r'id="sign-password"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*'
                     r'id="sign-password"', page)
    assert "That password is not right. Nothing was signed." in page
    assert re.search(rf'<option selected value="{AUTHORED}">', page)
    assert "Not signed yet." in page
    failed = _fresh(session, AuditEvent, action="sign_failed")
    assert failed.new_value.startswith(f"crf_entries {entry.id}: wrong password")
    assert failed.actor.username == "pi-a" and _fresh(session, Signature) is None
    page = client.get(f"/visits/{visit.id}/forms/VS").get_data(as_text=True)
    assert "That password is not right" not in page  # shown once, not forever
    _sign(client, f"/signatures/crf/{entry.id}", password="wrong again!")
    client.get(f"/visits/{visit.id}")  # the person goes elsewhere instead
    page = client.get(f"/visits/{visit.id}/forms/VS").get_data(as_text=True)
    assert "That password is not right" not in page


def test_a_missing_meaning_is_asked_for(client, session, entry):
    login(client, "pi-a")
    resp = _sign(client, f"/signatures/crf/{entry.id}", meaning="")
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Choose what your signature means." in page
    assert _fresh(session, AuditEvent, action="sign_failed") is None


def test_signing_then_changing_the_crf_shows_the_invalidation(client, session, entry, visit):
    login(client, "pi-a")
    resp = _sign(client, f"/signatures/crf/{entry.id}")
    assert resp.status_code == 302
    sig = _fresh(session, Signature, target="crf", target_id=entry.id)
    page = client.get(f"/visits/{visit.id}/forms/VS").get_data(as_text=True)
    assert "Signed by Pi-A" in page  # the flash
    signed = local_time(sig.signed_at, "Asia/Seoul")
    assert signed.endswith("KST") and f"Signed {signed}" in page
    assert "Pi-A" in page and APPROVED in page and "Valid" in page
    client.post("/logout")

    login(client, "coord-a")
    version = str(_fresh(session, CrfEntry, id=entry.id).version)
    _enter_pulse(client, visit, "80", version, reason="transcription error")
    page = client.get(f"/visits/{visit.id}/forms/VS").get_data(as_text=True)
    assert "signature-invalid" in page and "Invalidated on" in page
    assert "because\n      the values of VS #1 were changed by Coord-A" in page
    assert "Sign this CRF" not in page  # the coordinator still may not sign


def test_signing_a_visit_and_the_date_change_that_invalidates_it(client, session, visit):
    login(client, "pi-a")
    page = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "can be signed once its date is recorded" in page
    assert client.post(f"/visits/{visit.id}/date",
                       data={"actual_date": "2026-03-09"}).status_code == 302
    page = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "Sign this visit" in page
    resp = _sign(client, f"/signatures/visit/{visit.id}")
    assert resp.headers["Location"].endswith(f"/visits/{visit.id}#signatures")
    page = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "Pi-A" in page and APPROVED in page and "signature-valid" in page
    assert client.post(f"/visits/{visit.id}/date", data={
        "actual_date": "2026-03-10", "reason": "typo"}).status_code == 302
    page = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "the visit date was changed to 2026-03-10 by Pi-A" in page
    sig = _fresh(session, Signature, target="visit", target_id=visit.id)
    assert sig.invalidated_at is not None


def test_a_screening_crf_is_signed_through_the_same_route(client, session, two_sites,
                                                         mini_study):
    from app.screening.models import Screening
    from tests.functional.test_screening_flow import ELIGIBLE, _start, _version

    factories.user(session, "pi-a", Role.INVESTIGATOR, two_sites["a"])
    session.commit()
    login(client, "coord-a")
    screening_id = _start(client, "SCR-S1")
    client.post(f"/screening/{screening_id}",
                data={**ELIGIBLE, "entry_version": _version(session, screening_id)})
    client.post("/logout")
    login(client, "pi-a")
    entry = _fresh(session, Screening, id=screening_id).entry
    resp = _sign(client, f"/signatures/crf/{entry.id}")
    assert resp.headers["Location"].endswith(f"/screening/{screening_id}#signatures")
    sig = _fresh(session, Signature, target="crf", target_id=entry.id)
    assert sig.valid and sig.site_id == two_sites["a"].id
    assert sig.study_id == _fresh(session, Screening, id=screening_id).study_id


def test_repeated_wrong_passwords_at_signing_lock_the_account(app, client, session, entry):
    """Part 11 asks for safeguards against guessing: they count with failed logins."""
    login(client, "pi-a")
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit - 1):
        _sign(client, f"/signatures/crf/{entry.id}", password="wrong password!")
    resp = _sign(client, f"/signatures/crf/{entry.id}", password="wrong password!")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert client.get(f"/signatures/crf/{entry.id}").status_code in (302, 405)
    assert client.get("/").status_code == 302  # signed out
    assert login(client, "pi-a").status_code != 302  # and locked out, even with the password
    assert _fresh(session, AuditEvent, action="login_locked").actor.username == "pi-a"
