"""Visits through HTTP: dates, re-anchoring with confirmation, deviations, unscheduled visits,
withdrawal, visit CRFs with the dose computed, and the timeline."""

import re
from datetime import date, datetime, timedelta

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.crf.models import CrfEntry
from app.participants.models import Participant
from app.visits.models import Deviation, Visit
from tests.conftest import login
from tests.support import factories

DAY0 = date(2026, 3, 2)


def _participant(session, two_sites, study="CS20AT04", start=DAY0):
    p = factories.enrolled(session, two_sites["a"], study, start, two_sites["coord_a"])
    session.commit()
    return p


def _visit(session, participant, code) -> Visit:
    session.rollback()
    session.expire_all()
    return session.scalar(select(Visit).where(Visit.participant_id == participant.id,
                                              Visit.code == code))


def test_enrolment_plans_every_visit(session, two_sites):
    p = _participant(session, two_sites)
    codes = [v.code for v in session.scalars(select(Visit).where(Visit.participant_id == p.id)
                                             .order_by(Visit.target_date))]
    assert codes[0] == "INF1" and "INF2" in codes and codes[-1] == "FU5Y"
    assert _visit(session, p, "INF2").target_date == DAY0 + timedelta(days=84)


def test_infusion_given_on_day_86_moves_later_visits_after_confirmation(client, session,
                                                                        two_sites):
    p = _participant(session, two_sites)
    login(client, "coord-a")
    inf1 = _visit(session, p, "INF1")
    assert client.post(f"/visits/{inf1.id}/date", data={"actual_date": "2026-03-02"}).status_code \
        == 302
    inf2 = _visit(session, p, "INF2")
    day86 = (DAY0 + timedelta(days=86)).isoformat()
    resp = client.post(f"/visits/{inf2.id}/date", data={"actual_date": day86})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "This date moves" in page
    assert "2026-05-28" in page and "2026-05-30" in page  # INF2_D3 before → after
    assert _visit(session, p, "INF2").actual_date is None  # nothing saved yet
    resp = client.post(f"/visits/{inf2.id}/date", data={"actual_date": day86, "confirm": day86})
    assert resp.status_code == 302
    assert _visit(session, p, "INF2_D3").target_date == date(2026, 5, 30)
    assert _visit(session, p, "INF1").actual_date == DAY0  # done visits keep their dates
    reasons = session.scalars(select(AuditEvent.reason).where(
        AuditEvent.entity_type == "visits", AuditEvent.field == "target_date")).all()
    assert reasons
    assert all(r.startswith("re-anchored: INF2 happened on 2026-05-27") for r in reasons)


def test_out_of_window_visit_records_a_deviation(client, session, two_sites):
    p = _participant(session, two_sites)
    login(client, "coord-a")
    w4 = _visit(session, p, "INF1_W4")
    late = (w4.window_end + timedelta(days=1)).isoformat()
    assert client.post(f"/visits/{w4.id}/date", data={"actual_date": late}).status_code == 302
    session.rollback()
    deviation = session.scalar(select(Deviation))
    assert deviation.kind == "visit_out_of_window" and "INF1_W4" in deviation.detail
    page = client.get(f"/participants/{p.id}").get_data(as_text=True)
    assert "completed out of window" in page and "outside its window" in page


def test_future_dates_are_refused_with_a_message(client, session, two_sites):
    p = _participant(session, two_sites, start=date.today() + timedelta(days=10))
    login(client, "coord-a")
    inf1 = _visit(session, p, "INF1")
    resp = client.post(f"/visits/{inf1.id}/date",
                       data={"actual_date": (date.today() + timedelta(days=5)).isoformat()})
    assert resp.status_code == 400
    assert "cannot be in the future" in resp.get_data(as_text=True)


def test_unscheduled_visit_never_shifts_the_plan(client, session, two_sites):
    p = _participant(session, two_sites)
    login(client, "coord-a")
    before = {v.code: v.target_date for v in session.scalars(select(Visit))}
    resp = client.post(f"/participants/{p.id}/unscheduled",
                       data={"on": "2026-03-20", "reason": "flare"})
    assert resp.status_code == 302
    session.rollback()
    after = {v.code: v.target_date for v in session.scalars(select(Visit))}
    assert after.pop("UNS1") == date(2026, 3, 20)
    assert after == before


def test_withdrawal_cancels_visits_but_keeps_safety_follow_up(client, session, two_sites):
    p = _participant(session, two_sites, start=date.today() - timedelta(days=10))
    login(client, "coord-a")
    resp = client.post(f"/participants/{p.id}/withdraw", data={"reason": "consent withdrawn"})
    assert resp.status_code == 302
    session.rollback()
    visits = {v.code: v for v in session.scalars(select(Visit))}
    assert visits["INF2"].cancelled_at is not None and visits["INF2"].status == "cancelled"
    assert visits["FU1Y"].cancelled_at is None  # safety follow-up kept
    assert visits["INF1"].cancelled_at is None  # already missed, not cancelled: it was due
    page = client.get(f"/participants/{p.id}").get_data(as_text=True)
    assert "cancelled" in page and "missed" in page
    session.rollback()
    session.expire_all()
    assert session.get(Participant, p.id).withdrawal_reason == "consent withdrawn"


def test_infusion_record_computes_the_dose(client, session, two_sites):
    p = _participant(session, two_sites)
    login(client, "coord-a")
    inf1 = _visit(session, p, "INF1")
    resp = client.post(f"/visits/{inf1.id}/forms/CS20AT04_INF", data={
        "WEIGHT-value": "58", "WEIGHT-unit": "kg", "EXDOSE-value": "110000000",
        "EXDOSE-unit": "cells", "entry_version": "0"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    page = client.get(f"/visits/{inf1.id}/forms/CS20AT04_INF").get_data(as_text=True)
    assert "116 000 000 (1.16 × 10^8) cells" in page
    assert "-5.2" in page  # (110 - 116) / 116
    page = client.get(f"/visits/{inf1.id}").get_data(as_text=True)
    assert "entered" in page


def test_repeating_adverse_events(client, session, two_sites):
    p = _participant(session, two_sites)
    login(client, "coord-a")
    w1 = _visit(session, p, "INF1_W1")
    for n, term in ((1, "Headache"), (2, "Fever")):
        resp = client.post(f"/visits/{w1.id}/forms/AE/new")
        url = resp.headers["Location"]
        assert url.endswith("/forms/AE" if n == 1 else f"/forms/AE/{n}")
        resp = client.post(url, data={
            "AETERM": term, "AESTDTC": "2026-03-08", "AETOXGR": "1", "AESER": "no",
            "entry_version": "0"})
        assert resp.status_code == 302, resp.get_data(as_text=True)
    session.rollback()
    assert session.query(CrfEntry).filter_by(visit_id=w1.id, form_code="AE").count() == 2
    assert "#2" in client.get(f"/visits/{w1.id}").get_data(as_text=True)


def test_other_sites_visits_are_404(client, session, two_sites):
    p = _participant(session, two_sites)
    login(client, "coord-b")
    inf1 = _visit(session, p, "INF1")
    assert client.get(f"/visits/{inf1.id}").status_code == 404
    assert client.get(f"/participants/{p.id}").status_code == 404
    assert client.post(f"/visits/{inf1.id}/date", data={"actual_date": "2026-03-02"}) \
        .status_code == 404


def test_status_uses_the_sites_local_date(session, two_sites):
    """At 20:00 UTC it is already tomorrow in Seoul: the visit is due there, not upcoming."""
    from app.visits.services import site_today, visit_status

    p = _participant(session, two_sites)
    inf1 = _visit(session, p, "INF1")  # window 2026-03-02 .. 2026-03-02
    evening = datetime(2026, 3, 1, 20, 0, tzinfo=__import__("datetime").UTC)
    seoul = site_today(two_sites["a"], evening)
    assert seoul == date(2026, 3, 2)
    assert visit_status(inf1, seoul, 7).value == "due"
    assert visit_status(inf1, evening.date(), 7).value == "upcoming"


def test_a_corrected_date_resolves_the_deviation(client, session, two_sites):
    p = _participant(session, two_sites)
    login(client, "coord-a")
    w4 = _visit(session, p, "INF1_W4")
    late, good = (w4.window_end + timedelta(days=1)).isoformat(), w4.target_date.isoformat()
    client.post(f"/visits/{w4.id}/date", data={"actual_date": late})
    client.post(f"/visits/{w4.id}/date", data={"actual_date": late, "reason": "again"})
    session.rollback()
    assert len(session.scalars(select(Deviation)).all()) == 1  # not one per edit
    resp = client.post(f"/visits/{w4.id}/date", data={"actual_date": good,
                                                      "reason": "typo in the date"})
    assert resp.status_code == 302
    session.rollback()
    session.expire_all()
    (deviation,) = session.scalars(select(Deviation)).all()
    assert deviation.resolved_at is not None


def test_cancelled_visits_take_no_more_data(client, session, two_sites):
    p = _participant(session, two_sites, start=date.today() + timedelta(days=30))
    login(client, "coord-a")
    client.post(f"/participants/{p.id}/withdraw", data={"reason": "moved away"})
    w1 = _visit(session, p, "INF1_W1")
    assert w1.cancelled_at is not None
    resp = client.post(f"/visits/{w1.id}/forms/VS", data={"PULSE-value": "70",
                                                          "PULSE-unit": "bpm",
                                                          "entry_version": "0"})
    assert resp.status_code == 409


def test_two_first_saves_of_one_form_conflict(client, session, two_sites):
    p = _participant(session, two_sites)
    login(client, "coord-a")
    w1 = _visit(session, p, "INF1_W1")
    pulse = {"PULSE-unit": "bpm", "entry_version": "0"}
    first = client.post(f"/visits/{w1.id}/forms/VS", data={**pulse, "PULSE-value": "70"})
    second = client.post(f"/visits/{w1.id}/forms/VS", data={**pulse, "PULSE-value": "90"})
    assert (first.status_code, second.status_code) == (302, 409)
    assert "Now stored: 70 bpm" in second.get_data(as_text=True)


def test_a_grant_for_one_study_shows_that_study_only(client, session, two_sites):
    from app.auth import services as accounts
    from app.domain.access import Role
    from app.studies.models import Study

    p = _participant(session, two_sites)
    other = session.scalar(select(Study).where(Study.code == "UCMSC-LN"))
    nurse = factories.user(session, "nurse-ucmsc")
    accounts.grant_role(session, nurse, Role.COORDINATOR, site=two_sites["a"], study=other,
                        actor=None)
    session.commit()
    login(client, "nurse-ucmsc")
    assert client.get(f"/participants/{p.id}").status_code == 404
    inf1 = _visit(session, p, "INF1")
    assert client.get(f"/visits/{inf1.id}").status_code == 404
    assert p.participant_code not in client.get("/participants/").get_data(as_text=True)
    resp = client.post("/screening/new", data={"study": "CS20AT04", "site": "SITEA",
                                               "screening_number": "X-1"})
    assert "no data-entry role for this study" in resp.get_data(as_text=True)


def test_two_people_edit_one_crf_the_second_sees_a_conflict_and_history(client, session,
                                                                        two_sites):
    from app.domain.access import Role

    p = _participant(session, two_sites)
    factories.user(session, "pi-a", Role.INVESTIGATOR, two_sites["a"])
    session.commit()
    w1 = _visit(session, p, "INF1_W1")
    url = f"/visits/{w1.id}/forms/VS"
    coordinator, investigator = client, client.application.test_client()
    login(coordinator, "coord-a")
    login(investigator, "pi-a")
    first = {"PULSE-unit": "bpm", "PULSE-value": "70", "entry_version": "0"}
    assert coordinator.post(url, data=first).status_code == 302
    version = re.search(r'name="entry_version" type="hidden" value="(\d+)"',
                        coordinator.get(url).get_data(as_text=True)).group(1)
    both_open = investigator.get(url).get_data(as_text=True)  # both have the form open
    assert f'value="{version}"' in both_open
    mine = {"PULSE-unit": "bpm", "PULSE-value": "72", "entry_version": version,
            "change_reason": "re-measured"}
    theirs = {"PULSE-unit": "bpm", "PULSE-value": "75", "entry_version": version,
              "change_reason": "transcription"}
    assert coordinator.post(url, data=mine).status_code == 302
    conflict = investigator.post(url, data=theirs)
    page = conflict.get_data(as_text=True)
    assert conflict.status_code == 409
    assert 'value="75"' in page and "Now stored: 72 bpm" in page  # nothing of theirs lost
    history = coordinator.get(f"{url}/1/history").get_data(as_text=True)
    assert "70 bpm" in history and "72 bpm" in history and "re-measured" in history
    session.rollback()
    actors = session.scalars(select(AuditEvent.actor_id).where(
        AuditEvent.entity_type == "crf_entries").order_by(AuditEvent.id)).all()
    assert set(actors) == {two_sites["coord_a"].id}  # the refused save wrote nothing
