"""Signatures in the database: signing re-checks the password, every attempt is audited, and a
later change of the CRF or the visit invalidates the signature in the same transaction."""

from datetime import date

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.crf import services as crf_services
from app.crf.models import CrfEntry
from app.domain.access import Role
from app.domain.signing import APPROVED, AUTHORED
from app.signatures import services as signing
from app.signatures.models import Signature
from app.visits import services as visits
from app.visits.models import Visit
from tests.support import factories
from tests.support.factories import PASSWORD

DAY0 = date(2026, 3, 2)


@pytest.fixture
def world(session, two_sites):
    pi = factories.user(session, "pi-a", Role.INVESTIGATOR, two_sites["a"])
    p = factories.enrolled(session, two_sites["a"], "CS20AT04", DAY0, two_sites["coord_a"])
    session.commit()
    visit = session.scalar(select(Visit).where(Visit.participant_id == p.id,
                                               Visit.code == "INF1_W1"))
    return {"pi": pi, "coord": two_sites["coord_a"], "visit": visit}


def _save(session, visit, values, actor, reason=None, form="VS") -> CrfEntry:
    definition = visits.protocol_of(visit.participant.protocol_version).forms[form]
    entry = session.scalar(select(CrfEntry).where(CrfEntry.visit_id == visit.id,
                                                  CrfEntry.form_code == form))
    if entry is None:
        entry = CrfEntry(site_id=visit.site_id, participant_id=visit.participant_id,
                         visit_id=visit.id, form_code=form,
                         protocol_version_id=visit.participant.protocol_version_id)
        session.add(entry)
        session.flush()
    crf_services.save(session, entry, definition, values, actor=actor, reason=reason)
    session.commit()
    return entry


def _pulse(value: str) -> dict:
    return {"PULSE": {"value": value, "unit": "bpm"}}


def _events(session, action):
    return session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                           .order_by(AuditEvent.id)).all()


def test_signing_a_crf_binds_name_meaning_and_hash_and_is_audited(session, world):
    entry = _save(session, world["visit"], _pulse("72"), world["coord"])
    sig = signing.sign_crf(session, entry, signer=world["pi"], password=PASSWORD,
                           meaning=APPROVED)
    session.commit()
    assert (sig.target, sig.target_id, sig.printed_name, sig.meaning) == \
        ("crf", entry.id, "Pi-A", APPROVED)
    assert sig.valid and sig.content_hash == signing.crf_hash(signing.crf_content(entry))
    assert sig.signed_at.utcoffset().total_seconds() == 0
    (event,) = _events(session, "sign")
    assert (event.actor_id, event.entity_type, event.entity_id) == \
        (world["pi"].id, "signatures", sig.id)
    assert "Pi-A" in event.new_value and APPROVED in event.new_value


def test_wrong_password_signs_nothing_and_is_audited(session, world):
    entry = _save(session, world["visit"], _pulse("72"), world["coord"])
    with pytest.raises(signing.WrongPassword) as refused:
        signing.sign_crf(session, entry, signer=world["pi"], password="not my password",
                         meaning=APPROVED)
    assert refused.value.field == "password"
    session.commit()  # what the view does: keep the audit row
    assert session.scalars(select(Signature)).all() == []
    (event,) = _events(session, "sign_failed")
    assert (event.actor_id, event.entity_type, event.site_id) == \
        (world["pi"].id, "signatures", entry.site_id)
    assert event.new_value.startswith(f"crf_entries {entry.id}: wrong password")


def test_empty_crf_unknown_meaning_and_undated_visit_are_refused(session, world):
    entry = CrfEntry(site_id=world["visit"].site_id, visit_id=world["visit"].id,
                     participant_id=world["visit"].participant_id, form_code="VS",
                     protocol_version_id=world["visit"].participant.protocol_version_id)
    session.add(entry)
    session.flush()
    with pytest.raises(signing.SigningError, match="nothing to sign"):
        signing.sign_crf(session, entry, signer=world["pi"], password=PASSWORD,
                         meaning=APPROVED)
    with pytest.raises(signing.SigningError, match="no date"):
        signing.sign_visit(session, world["visit"], signer=world["pi"], password=PASSWORD,
                           meaning=APPROVED)
    session.rollback()
    entry = _save(session, world["visit"], _pulse("72"), world["coord"])
    with pytest.raises(signing.SigningError) as refused:
        signing.sign_crf(session, entry, signer=world["pi"], password=PASSWORD,
                         meaning="Looked at it")
    assert refused.value.field == "meaning"
    assert _events(session, "sign_failed") == []


def test_a_changed_value_invalidates_the_crf_signature_with_an_audit_row(session, world):
    entry = _save(session, world["visit"], _pulse("72"), world["coord"])
    sig = signing.sign_crf(session, entry, signer=world["pi"], password=PASSWORD,
                           meaning=APPROVED)
    session.commit()
    _save(session, world["visit"], {**_pulse("72"), "TEMP": {"value": "36.6", "unit": "degC"}},
          world["coord"])
    session.refresh(sig)
    assert not sig.valid and "VS #1" in sig.invalidated_reason
    assert "Coord-A" in sig.invalidated_reason
    _save(session, world["visit"], _pulse("74"), world["coord"], reason="re-measured")
    (event,) = _events(session, "signature_invalidated")  # once, not at every later change
    assert (event.actor_id, event.entity_type, event.entity_id) == \
        (world["coord"].id, "signatures", sig.id)
    assert event.reason == sig.invalidated_reason and "Pi-A" in event.new_value


def test_a_save_that_changes_nothing_keeps_the_signature(session, world):
    entry = _save(session, world["visit"], _pulse("72"), world["coord"])
    sig = signing.sign_crf(session, entry, signer=world["pi"], password=PASSWORD,
                           meaning=AUTHORED)
    session.commit()
    _save(session, world["visit"], _pulse("72"), world["coord"])
    session.refresh(sig)
    assert sig.valid


def test_visit_signature_is_invalidated_by_a_crf_change(session, world):
    visit = world["visit"]
    visits.record_date(session, visit, date(2026, 3, 9), actor=world["coord"])
    _save(session, visit, _pulse("72"), world["coord"])
    sig = signing.sign_visit(session, visit, signer=world["pi"], password=PASSWORD,
                             meaning=APPROVED)
    session.commit()
    assert sig.target == "visit" and sig.study_id == visit.participant.study_id
    _save(session, visit, _pulse("76"), world["coord"], reason="transcription error")
    session.refresh(sig)
    assert not sig.valid and "VS #1 of this visit" in sig.invalidated_reason


def test_visit_signature_is_invalidated_by_a_new_crf_of_the_visit(session, world):
    visit = world["visit"]
    visits.record_date(session, visit, date(2026, 3, 9), actor=world["coord"])
    session.commit()
    sig = signing.sign_visit(session, visit, signer=world["pi"], password=PASSWORD,
                             meaning=APPROVED)
    session.commit()
    _save(session, visit, _pulse("70"), world["coord"])
    session.refresh(sig)
    assert not sig.valid


def test_visit_signature_is_invalidated_by_a_date_change(session, world):
    visit = world["visit"]
    visits.record_date(session, visit, date(2026, 3, 9), actor=world["coord"])
    sig = signing.sign_visit(session, visit, signer=world["pi"], password=PASSWORD,
                             meaning=APPROVED)
    session.commit()
    visits.record_date(session, visit, date(2026, 3, 9), actor=world["coord"], reason="same")
    session.commit()
    session.refresh(sig)
    assert sig.valid  # the same date again changes nothing
    visits.record_date(session, visit, date(2026, 3, 10), actor=world["coord"],
                       reason="wrong day typed")
    session.commit()
    session.refresh(sig)
    assert not sig.valid and "2026-03-10" in sig.invalidated_reason
    (event,) = _events(session, "signature_invalidated")
    assert event.actor_id == world["coord"].id and event.site_id == visit.site_id


def test_signing_the_same_content_twice_with_one_meaning_is_refused(session, world):
    entry = _save(session, world["visit"], _pulse("72"), world["coord"])
    signing.sign_crf(session, entry, signer=world["pi"], password=PASSWORD, meaning=APPROVED)
    session.commit()
    with pytest.raises(signing.SigningError, match="already signed"):
        signing.sign_crf(session, entry, signer=world["pi"], password=PASSWORD,
                         meaning=APPROVED)
    session.rollback()
    signing.sign_crf(session, entry, signer=world["pi"], password=PASSWORD, meaning=AUTHORED)
    session.commit()
    assert [s.meaning for s in signing.signatures_for(session, "crf", entry.id)] == \
        [APPROVED, AUTHORED]
