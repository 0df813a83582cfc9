"""Screen, fail one candidate, enrol another, randomize: through HTTP, as the browser does."""

import re

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.domain.access import Role
from app.participants.models import Participant
from app.randomization.models import Assignment
from app.screening.models import Screening
from tests.conftest import login
from tests.support import factories

ELIGIBLE = {
    "SCRDT": "2026-05-01", "BRTHDTC": "1980-05-02", "SEX": "F",
    "CREAT-value": "1.3", "CREAT-unit": "mg/dL",
    "PLAT-value": "250", "PLAT-unit": "10^3/uL",
    "ALT-value": "30", "ALT-unit": "U/L", "ALT-uln": "40",
    "ANATITER": "1:160", "DSDNA": "no", "CONSENT": "yes", "FLARE": "no",
}


def _start(client, number: str) -> int:
    resp = client.post("/screening/new", data={"study": "MINI", "site": "SITEA",
                                               "screening_number": number})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def _version(session, screening_id: int) -> str:
    session.rollback()
    return str(session.get(Screening, screening_id).entry.version)


def test_screen_fail_enrol_randomize(client, session, two_sites, mini_study):
    factories.user(session, "pi-a", Role.INVESTIGATOR, two_sites["a"])
    factories.user(session, "dm", Role.DATA_MANAGER)
    session.commit()
    login(client, "coord-a")

    failing = _start(client, "SCR-001")
    data = {**ELIGIBLE, "ANATITER": "1:40", "entry_version": _version(session, failing)}
    resp = client.post(f"/screening/{failing}", data=data)
    assert resp.status_code == 302
    page = client.get(f"/screening/{failing}").get_data(as_text=True)
    assert "ANATITER 1:40 &lt; 1:80" in page and "Not eligible" in page
    assert client.post(f"/screening/{failing}/subgroup", data={"subgroup": "LN"}).status_code == 302
    assert client.post(f"/screening/{failing}/fail").status_code == 302
    log = client.get("/screening/").get_data(as_text=True)
    assert "screen failed" in log and "I2" in log

    eligible = _start(client, "SCR-002")
    client.post(f"/screening/{eligible}/subgroup", data={"subgroup": "LN"})
    resp = client.post(f"/screening/{eligible}",
                       data={**ELIGIBLE, "entry_version": _version(session, eligible)})
    assert resp.status_code == 302
    page = client.get(f"/screening/{eligible}").get_data(as_text=True)
    assert "1.3 mg/dL = 114.9 umol/L &gt; 106 umol/L" in page
    assert "Eligible" in page
    assert client.post(f"/screening/{eligible}/enroll").status_code == 403  # coordinators can't

    client.post("/logout")
    login(client, "pi-a")
    resp = client.post(f"/screening/{eligible}/enroll", data={"on": "2099-01-01"},
                       follow_redirects=True)
    assert "cannot be in the future" in resp.get_data(as_text=True)
    resp = client.post(f"/screening/{eligible}/enroll", data={"on": "2026-05-02"})
    assert resp.status_code == 302
    session.rollback()
    participant = session.scalar(select(Participant))
    assert participant.participant_code == "SITEA-001" and participant.subgroup == "LN"

    resp = client.post(f"/participants/{participant.id}/randomize", follow_redirects=True)
    assert "has not set this study" in resp.get_data(as_text=True)
    client.post("/logout")
    login(client, "dm")
    assert client.post("/studies/MINI/randomization",
                       data={"seed": "a secret seed phrase"}).status_code == 302
    client.post("/logout")
    login(client, "coord-a")
    resp = client.post(f"/participants/{participant.id}/randomize", follow_redirects=True)
    assert "is allocated to" in resp.get_data(as_text=True)
    resp = client.post(f"/participants/{participant.id}/randomize", follow_redirects=True)
    assert "already allocated" in resp.get_data(as_text=True)
    session.rollback()
    assert len(session.scalars(select(Assignment)).all()) == 1
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"randomized", "enter", "randomization_seed_set"} <= actions


def test_bad_values_are_kept_and_explained(client, session, two_sites, mini_study):
    login(client, "coord-a")
    sid = _start(client, "SCR-010")
    data = {**ELIGIBLE, "CREAT-value": "1.3", "CREAT-unit": "mmol/mol", "SCRDT": "01/05/2026",
            "entry_version": _version(session, sid)}
    resp = client.post(f"/screening/{sid}", data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "accepted units: umol/L, mg/dL" in page
    assert "Enter a date as YYYY-MM-DD." in page
    assert 'value="01/05/2026"' in page  # what was typed is kept
    assert 'value="1:160"' in page  # the valid values too (and they were saved)
    session.rollback()
    saved = session.get(Screening, sid).entry.raw_values()
    assert saved["ANATITER"] == "1:160" and "SCRDT" not in saved


def test_changing_a_saved_value_needs_a_reason(client, session, two_sites, mini_study):
    login(client, "coord-a")
    sid = _start(client, "SCR-020")
    client.post(f"/screening/{sid}", data={**ELIGIBLE, "entry_version": _version(session, sid)})
    changed = {**ELIGIBLE, "ANATITER": "1:320", "entry_version": _version(session, sid)}
    resp = client.post(f"/screening/{sid}", data=changed)
    assert resp.status_code == 400 and "Give a reason" in resp.get_data(as_text=True)
    resp = client.post(f"/screening/{sid}", data={**changed, "change_reason": "transcription"})
    assert resp.status_code == 302
    session.rollback()
    row = session.scalars(select(AuditEvent).where(AuditEvent.field == "ANATITER")
                          .order_by(AuditEvent.id.desc())).first()
    assert (row.old_value, row.new_value, row.reason) == ("1:160", "1:320", "transcription")


def test_stale_form_is_a_conflict_and_keeps_input(client, session, two_sites, mini_study):
    login(client, "coord-a")
    sid = _start(client, "SCR-030")
    stale = _version(session, sid)
    client.post(f"/screening/{sid}", data={**ELIGIBLE, "entry_version": stale})
    resp = client.post(f"/screening/{sid}", data={**ELIGIBLE, "ANATITER": "1:640",
                                                  "entry_version": stale})
    assert resp.status_code == 409
    page = resp.get_data(as_text=True)
    assert 'value="1:640"' in page and "Now stored: 1:160" in page


def test_other_sites_screenings_are_404(client, session, two_sites, mini_study):
    login(client, "coord-a")
    sid = _start(client, "SCR-040")
    client.post("/logout")
    login(client, "coord-b")
    assert client.get(f"/screening/{sid}").status_code == 404
    assert client.post(f"/screening/{sid}/fail").status_code == 404
    assert "SCR-040" not in client.get("/screening/").get_data(as_text=True)


def test_screening_log_per_site(client, session, two_sites, mini_study):
    login(client, "root-admin")
    client.post("/screening/new", data={"study": "MINI", "site": "SITEA",
                                         "screening_number": "A-1"})
    client.post("/screening/new", data={"study": "MINI", "site": "SITEB",
                                         "screening_number": "B-1"})
    page_a = client.get("/screening/?site=SITEA").get_data(as_text=True)
    assert "A-1" in page_a and "B-1" not in page_a
    both = client.get("/screening/").get_data(as_text=True)
    assert "A-1" in both and "B-1" in both


def test_after_a_conflict_saving_again_works(client, session, two_sites, mini_study):
    login(client, "coord-a")
    sid = _start(client, "SCR-031")
    stale = _version(session, sid)
    client.post(f"/screening/{sid}", data={**ELIGIBLE, "entry_version": stale})
    page = client.post(f"/screening/{sid}", data={**ELIGIBLE, "ANATITER": "1:640",
                                                  "entry_version": stale}).get_data(as_text=True)
    current = re.search(r'name="entry_version" type="hidden" value="(\d+)"', page).group(1)
    resp = client.post(f"/screening/{sid}", data={**ELIGIBLE, "ANATITER": "1:640",
                                                  "entry_version": current,
                                                  "change_reason": "checked the lab report"})
    assert resp.status_code == 302


def test_blank_labs_save_as_a_draft(client, session, two_sites, mini_study):
    login(client, "coord-a")
    sid = _start(client, "SCR-032")
    draft = {"SCRDT": "2026-05-01", "CREAT-value": "", "CREAT-unit": "umol/L",
             "PLAT-value": "", "PLAT-unit": "/uL", "ALT-value": "", "ALT-unit": "U/L",
             "ALT-uln": "", "entry_version": _version(session, sid)}
    assert client.post(f"/screening/{sid}", data=draft).status_code == 302
    session.rollback()
    assert session.get(Screening, sid).entry.raw_values() == {"SCRDT": "2026-05-01"}
