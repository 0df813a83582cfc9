"""Locks through HTTP: a data manager locks and unlocks; locked data is read-only on every
write route (409, nothing saved); coordinators may not lock; another site's CRF is a 404."""

import re
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.crf.models import CrfEntry
from app.domain.access import Role
from app.locks.models import Lock
from app.participants.models import Participant
from app.visits.models import Visit
from tests.conftest import login
from tests.support import factories

DAY0 = date(2026, 3, 2)
PULSE = {"PULSE-unit": "bpm", "PULSE-value": "70", "entry_version": "0"}


@pytest.fixture
def world(client, session, two_sites):
    """Site A's participant with a saved Vital signs CRF at week 1; data managers: one at
    site A only, one at every site."""
    factories.user(session, "dm-a", Role.DATA_MANAGER, two_sites["a"])
    factories.user(session, "dm-all", Role.DATA_MANAGER)
    p = factories.enrolled(session, two_sites["a"], "CS20AT04", DAY0, two_sites["coord_a"])
    session.commit()
    w1 = _visit(session, p, "INF1_W1")
    login(client, "coord-a")
    assert client.post(f"/visits/{w1.id}/forms/VS", data=PULSE).status_code == 302
    client.post("/logout")
    session.rollback()
    entry = session.scalar(select(CrfEntry).where(CrfEntry.visit_id == w1.id))
    return {"p": p, "w1": w1, "entry": entry, "crf_url": f"/visits/{w1.id}/forms/VS"}


def _visit(session, participant, code) -> Visit:
    session.rollback()
    session.expire_all()
    return session.scalar(select(Visit).where(Visit.participant_id == participant.id,
                                              Visit.code == code))


def _locks(session) -> list[Lock]:
    session.rollback()
    session.expire_all()
    return session.scalars(select(Lock).order_by(Lock.id)).all()


def _pulse(session, entry) -> str:
    session.rollback()
    session.expire_all()
    return {v.item_code: v.value for v in session.get(CrfEntry, entry.id).values}["PULSE"]


def _lock_crf(client, entry, reason="interim analysis"):
    return client.post(f"/locks/crf/{entry.id}", data={f"lock-crf-{entry.id}-reason": reason})


def test_data_manager_locks_and_unlocks_a_crf(client, session, world):
    login(client, "dm-a")
    resp = _lock_crf(client, world["entry"])
    assert resp.status_code == 302 and resp.headers["Location"] == world["crf_url"]
    (lock,) = _locks(session)
    assert (lock.scope, lock.target_id, lock.reason) == ("crf", world["entry"].id,
                                                         "interim analysis")
    page = client.get(world["crf_url"]).get_data(as_text=True)
    assert "This CRF is locked" in page and "Dm-A" in page and "interim analysis" in page
    # shown in the site's time zone (Seoul)
    assert lock.locked_at.astimezone(ZoneInfo("Asia/Seoul")).strftime("%Y-%m-%d %H:%M KST") \
        in page
    assert "Unlock CRF" in page
    resp = client.post(f"/locks/{lock.id}/unlock", data={f"unlock-{lock.id}-reason": "typo"})
    assert resp.status_code == 302
    (lock,) = _locks(session)
    assert lock.unlocked_at is not None and lock.unlock_reason == "typo"
    actions = session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "locks").order_by(AuditEvent.id)).all()
    assert actions == ["lock", "unlock"]
    assert "Lock this CRF" in client.get(world["crf_url"]).get_data(as_text=True)


def test_locked_crf_page_is_read_only_and_a_forced_post_saves_nothing(client, session, world):
    login(client, "dm-a")
    _lock_crf(client, world["entry"])
    client.post("/logout")
    login(client, "coord-a")
    page = client.get(world["crf_url"]).get_data(as_text=True)
    assert re.search(r"<fieldset\s+disabled", page)
    assert ">Save</button>" not in page and "Unlock CRF" not in page
    version = str(world["entry"].version)
    resp = client.post(world["crf_url"], data={**PULSE, "PULSE-value": "99",
                                               "entry_version": version,
                                               "change_reason": "re-measured"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "This CRF is locked; nothing was saved." in page
    assert 'value="99"' in page  # what was typed is still shown
    assert _pulse(session, world["entry"]) == "70"
    assert session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "crf_entries",
                                                    AuditEvent.new_value == "99 bpm")).all() \
        == []


def test_unlock_needs_a_reason_shown_next_to_the_field(client, session, world):
    login(client, "dm-a")
    _lock_crf(client, world["entry"])
    (lock,) = _locks(session)
    resp = client.post(f"/locks/{lock.id}/unlock", data={f"unlock-{lock.id}-reason": "  "})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert re.search(r'aria-invalid="true"[^>]*>\s*<small[^>]*class="field-error">'
                     r"Give the reason for unlocking.", page)
    assert _locks(session)[0].unlocked_at is None


def test_locking_twice_is_refused_politely(client, session, world):
    login(client, "dm-a")
    _lock_crf(client, world["entry"])
    resp = _lock_crf(client, world["entry"], "again")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "Already locked by Dm-A; nothing was changed." in page
    assert 'value="again"' in page
    assert len(_locks(session)) == 1


def test_coordinators_may_not_lock(client, session, world):
    login(client, "coord-a")
    assert _lock_crf(client, world["entry"]).status_code == 403
    assert client.post(f"/locks/participant/{world['p'].id}").status_code == 403
    assert client.post(f"/locks/study/{world['p'].study_id}").status_code == 403
    assert "Lock this CRF" not in client.get(world["crf_url"]).get_data(as_text=True)
    assert _locks(session) == []


def test_another_sites_crf_is_404(client, session, world, two_sites):
    factories.user(session, "dm-b", Role.DATA_MANAGER, two_sites["b"])
    session.commit()
    login(client, "dm-b")
    assert _lock_crf(client, world["entry"]).status_code == 404
    assert client.post(f"/locks/participant/{world['p'].id}").status_code == 404
    client.post("/logout")
    login(client, "dm-a")
    _lock_crf(client, world["entry"])
    (lock,) = _locks(session)
    client.post("/logout")
    login(client, "dm-b")
    assert client.post(f"/locks/{lock.id}/unlock",
                       data={f"unlock-{lock.id}-reason": "x"}).status_code == 404
    assert _locks(session)[0].unlocked_at is None


def test_a_locked_participant_refuses_every_write(client, session, world):
    p, w1 = world["p"], world["w1"]
    login(client, "dm-a")
    resp = client.post(f"/locks/participant/{p.id}",
                       data={f"lock-participant-{p.id}-reason": "source data verified"})
    assert resp.status_code == 302
    page = client.get(f"/participants/{p.id}").get_data(as_text=True)
    assert f"Participant {p.participant_code}" in page and "Unlock participant" in page
    client.post("/logout")
    login(client, "coord-a")
    page = client.get(f"/participants/{p.id}").get_data(as_text=True)
    assert "source data verified" in page and "Withdraw participant" not in page
    inf1 = _visit(session, p, "INF1")
    writes = {
        f"/visits/{inf1.id}/date": {"actual_date": "2026-03-02"},
        f"/visits/{w1.id}/not-done": {"reason": "ill"},
        f"/visits/{w1.id}/forms/AE/new": {},
        f"/visits/{w1.id}/forms/VS": {**PULSE, "PULSE-value": "99",
                                      "entry_version": str(world["entry"].version),
                                      "change_reason": "x"},
        f"/visits/{inf1.id}/forms/VS": PULSE,  # a CRF not yet saved is covered too
        f"/participants/{p.id}/unscheduled": {"on": "2026-03-20", "reason": "flare"},
        f"/participants/{p.id}/withdraw": {"reason": "moved away"},
    }
    for url, data in writes.items():
        resp = client.post(url, data=data)
        assert resp.status_code == 409, url
        assert "locked" in resp.get_data(as_text=True), url
    session.rollback()
    session.expire_all()
    assert _pulse(session, world["entry"]) == "70"
    assert _visit(session, p, "INF1").actual_date is None
    participant = session.get(Participant, p.id)
    assert participant.withdrawn_at is None
    assert len(session.scalars(select(CrfEntry).where(CrfEntry.participant_id == p.id)).all()) \
        == 1
    refusal = client.post(f"/participants/{p.id}/withdraw", data={"reason": "x"})
    text = refusal.get_data(as_text=True)
    assert "This participant&#39;s data is locked; nothing was saved." in text
    assert f"Participant {p.participant_code} is locked" in text and "KST" in text


def test_a_study_lock_needs_every_site_and_covers_screening(client, session, world,
                                                            two_sites):
    study_id = world["p"].study_id
    login(client, "dm-a")
    assert client.post(f"/locks/study/{study_id}").status_code == 403  # one site is not enough
    assert "Study locks" not in client.get("/studies/").get_data(as_text=True)
    client.post("/logout")
    login(client, "dm-all")
    assert "Lock study CS20AT04" in client.get("/studies/").get_data(as_text=True)
    resp = client.post(f"/locks/study/{study_id}",
                       data={f"lock-study-{study_id}-reason": "database lock"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/studies/"
    page = client.get("/studies/").get_data(as_text=True)
    assert "Locked</strong> by Dm-All" in page and "database lock" in page
    assert "Unlock study" in page
    client.post("/logout")
    login(client, "coord-a")
    resp = client.post("/screening/new", data={"study": "CS20AT04", "site": "SITEA",
                                               "screening_number": "SCR-77"})
    assert "This study is locked; nothing was saved." in resp.get_data(as_text=True)
    crf = client.post(world["crf_url"], data={**PULSE, "entry_version": "2"})
    assert crf.status_code == 409 and f"Study {world['p'].study.code}" in crf.get_data(
        as_text=True)
    assert _pulse(session, world["entry"]) == "70"


def test_a_locked_study_refuses_screening_saves_and_enrolment(client, session, two_sites,
                                                               mini_study):
    from tests.functional.test_screening_flow import ELIGIBLE, _start, _version

    factories.user(session, "pi-a", Role.INVESTIGATOR, two_sites["a"])
    factories.user(session, "dm-all", Role.DATA_MANAGER)
    session.commit()
    login(client, "coord-a")
    number = _start(client, "SCR-1")
    client.post(f"/screening/{number}/subgroup", data={"subgroup": "LN"})
    client.post("/logout")
    login(client, "dm-all")
    study_id = _study_id(session)
    assert client.post(f"/locks/study/{study_id}").status_code == 302
    client.post("/logout")
    login(client, "coord-a")
    resp = client.post(f"/screening/{number}",
                       data={**ELIGIBLE, "entry_version": _version(session, number)})
    assert resp.status_code == 409
    assert "This study is locked; nothing was saved." in resp.get_data(as_text=True)
    client.post("/logout")
    login(client, "pi-a")
    resp = client.post(f"/screening/{number}/enroll")
    assert resp.status_code == 409 and "This study is locked" in resp.get_data(as_text=True)
    session.rollback()
    assert session.scalars(select(Participant)).all() == []


def _study_id(session) -> int:
    from app.studies.models import Study

    session.rollback()
    return session.scalar(select(Study.id).where(Study.code == "MINI"))


def test_a_first_save_of_a_crf_saved_meanwhile_is_a_conflict_or_its_lock(client, session,
                                                                         world):
    """A post of version 0 is saved without looking for the CRF first: when it exists
    (someone else saved it meanwhile), the INSERT is refused and the page says why."""
    login(client, "coord-a")
    resp = client.post(world["crf_url"], data={**PULSE, "PULSE-value": "88"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "Now stored: 70 bpm" in page and 'value="88"' in page  # nothing typed is lost
    assert _pulse(session, world["entry"]) == "70"
    client.post("/logout")
    login(client, "dm-a")
    _lock_crf(client, world["entry"])
    client.post("/logout")
    login(client, "coord-a")
    resp = client.post(world["crf_url"], data={**PULSE, "PULSE-value": "89"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "This CRF is locked; nothing was saved." in page and 'value="89"' in page
    assert _pulse(session, world["entry"]) == "70"
    assert session.scalar(select(CrfEntry.version).where(CrfEntry.id == world["entry"].id)) == 1
