"""Stored XSS: free text typed into CRFs, and names in study definitions and sites, reach every
page (and the reminder e-mail's HTML part) escaped, never as markup."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from markupsafe import escape
from sqlalchemy import select

from app.config import PROJECT_ROOT
from app.crf.models import CrfEntry
from app.domain.access import Role
from app.domain.definitions import FormDef, ItemType, Protocol
from app.participants.models import Participant
from app.queries.models import Query
from app.screening.models import Screening
from app.studies import services as study_services
from app.visits.models import Visit
from app.visits.services import site_today
from tests.conftest import MINI, login
from tests.support import factories

PAYLOAD = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
SEEDS = {p.study.code: p for p in study_services.read_definitions(
    PROJECT_ROOT / "schedules", PROJECT_ROOT / "forms")}


class _Markup(HTMLParser):
    """What a browser would run: script elements and on… event-handler attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.handlers: list[str] = []
        self.scripts = 0
        self.images: list[str | None] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        self.scripts += tag == "script"
        if tag == "img":
            self.images.append(dict(attrs).get("src"))


def assert_inert(page: str, where: str) -> None:
    """No part of the payload became markup: no script, no handler, no injected image."""
    parser = _Markup()
    parser.feed(page)
    assert PAYLOAD not in page, where
    assert "<script>alert" not in page and "<img src=x" not in page, where
    assert parser.scripts == 0 and parser.handlers == [] and "x" not in parser.images, where


def assert_escaped(page: str, value: str, where: str) -> None:
    """The value is on the page, as text."""
    assert str(escape(value)) in page, f"{value!r} not shown escaped on {where}"
    assert_inert(page, where)


def _text_items(form: FormDef) -> list[str]:
    return [code for code, item in form.items.items()
            if item.type is ItemType.TEXT and item.derived is None]


def _get(client, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, url
    return resp.get_data(as_text=True)


def _protocol(session, participant: Participant) -> Protocol:
    session.refresh(participant, ["protocol_version"])
    return study_services.protocol_of(participant.protocol_version)


def _visit_for(session, client, participant: Participant, protocol: Protocol,
               form_code: str) -> int:
    """The first planned visit that asks for the form, else an unscheduled visit (which takes
    every form but screening)."""
    visits = session.scalars(select(Visit).where(Visit.participant_id == participant.id)
                             .order_by(Visit.target_date, Visit.id)).all()
    schedule = protocol.study.schedule
    found = next((v for v in visits if v.unscheduled
                  or form_code in schedule.visit(v.code).forms), None)
    if found is None:
        resp = client.post(f"/participants/{participant.id}/unscheduled",
                           data={"on": participant.start_date.isoformat(), "reason": "review"})
        assert resp.status_code == 302
        return _visit_for(session, client, participant, protocol, form_code)
    return found.id


def _save_text(client, url: str, codes: list[str], version: int = 0) -> dict[str, str]:
    values = {code: f"{PAYLOAD} [{code}]" for code in codes}
    resp = client.post(url, data={**values, "entry_version": str(version)})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return values


def _enrolled(session, two_sites, study: str) -> Participant:
    start = site_today(two_sites["a"]) - timedelta(days=3)  # visits on this month's calendar
    subgroups = SEEDS[study].study.subgroups
    participant = factories.enrolled(session, two_sites["a"], study, start, two_sites["coord_a"],
                                     subgroup=subgroups[0].code if subgroups else None)
    session.commit()
    return participant


@pytest.mark.parametrize("study", sorted(SEEDS))
def test_free_text_in_every_visit_crf_is_escaped(client, session, two_sites, study):
    participant = _enrolled(session, two_sites, study)
    protocol = _protocol(session, participant)
    login(client, "coord-a")
    covered = []
    for form in protocol.forms.values():
        codes = _text_items(form)
        if form.code == protocol.study.screening_form or not codes:
            continue
        visit_id = _visit_for(session, client, participant, protocol, form.code)
        crf = f"/visits/{visit_id}/forms/{form.code}"
        values = _save_text(client, crf, codes)
        for url in (crf, f"{crf}/1/history"):
            page = _get(client, url)
            for value in values.values():
                assert_escaped(page, value, url)
        assert_inert(_get(client, f"/visits/{visit_id}"), f"visit {visit_id}")
        covered += codes
    assert covered, f"{study} has no free-text item"
    for url in (f"/participants/{participant.id}", f"/participants/{participant.id}/print",
                "/calendar/", "/calendar/week", "/calendar/agenda", "/calendar/worklist",
                "/participants/"):
        assert_inert(_get(client, url), url)


@pytest.mark.parametrize("study", sorted(SEEDS))
def test_free_text_in_the_screening_crf_is_escaped(client, session, two_sites, study):
    _enrolled(session, two_sites, study)  # loads the seed studies
    login(client, "coord-a")
    resp = client.post("/screening/new", data={"study": study, "site": "SITEA",
                                               "screening_number": "XSS-1"})
    assert resp.status_code == 302
    screening_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    session.rollback()
    screening = session.get(Screening, screening_id)
    protocol = study_services.protocol_of(screening.protocol_version)
    values = _save_text(client, f"/screening/{screening_id}",
                        _text_items(protocol.screening),  # none in today's seeds
                        screening.entry.version)
    for url in (f"/screening/{screening_id}", f"/screening/{screening_id}/history",
                "/screening/"):
        page = _get(client, url)
        for value in values.values():
            assert_escaped(page, value, url)
        assert_inert(page, url)


def _payload_study(tmp_path: Path) -> Path:
    """A copy of tests/data/mini whose every name people read is the payload, with one visit
    and a visit CRF holding a free-text item."""
    root = shutil.copytree(MINI, tmp_path / "mini")
    schedule_file = root / "schedules" / "mini.yaml"
    schedule = yaml.safe_load(schedule_file.read_text())
    schedule["study"]["title"] = PAYLOAD
    schedule["subgroups"] = [{"code": "LN", "name": PAYLOAD}, {"code": "LC", "name": "LC"}]
    schedule["arms"] = [{"code": "A", "name": PAYLOAD}]
    schedule.pop("randomization")
    schedule["anchors"] = [{"code": "ENROL", "name": PAYLOAD, "kind": "enrollment"}]
    schedule["visits"] = [{"code": "V1", "name": PAYLOAD, "anchor": "ENROL", "offset": 2,
                           "window": {"before": 1, "after": 1}, "forms": ["NOTE"]}]
    schedule_file.write_text(yaml.safe_dump(schedule, allow_unicode=True))
    screening_file = root / "forms" / "mini_screening.yaml"
    screening = yaml.safe_load(screening_file.read_text())
    screening["sections"][0]["items"].append({"code": "SCRNOTE", "label": PAYLOAD,
                                              "type": "text"})
    screening["criteria"][0]["text"] = PAYLOAD
    screening_file.write_text(yaml.safe_dump(screening, allow_unicode=True))
    note = {"format": 1, "form": {"code": "NOTE", "title": PAYLOAD, "study": "MINI"},
            "sections": [{"title": PAYLOAD, "items": [
                {"code": "NOTETXT", "label": PAYLOAD, "type": "text"}]}]}
    (root / "forms" / "note.yaml").write_text(yaml.safe_dump(note, allow_unicode=True))
    return root


@pytest.fixture
def payload_site(session, two_sites, tmp_path):
    """Site A renamed to the payload, the payload study loaded, a participant enrolled."""
    from app.demo import enrol_without_screening

    root = _payload_study(tmp_path)
    (protocol,) = study_services.read_definitions(root / "schedules", root / "forms")
    study_services.store(session, protocol)
    site = two_sites["a"]
    site.name = PAYLOAD
    version = study_services.current_versions(session)[0]
    participant = enrol_without_screening(session, site, version, "XSS", site_today(site),
                                          two_sites["coord_a"], subgroup="LN")
    factories.user(session, "mon-a", Role.MONITOR, site)
    session.commit()
    return participant


def test_study_visit_and_site_names_are_escaped(client, session, two_sites, payload_site):
    login(client, "coord-a")
    participant = payload_site
    visit = session.scalar(select(Visit).where(Visit.participant_id == participant.id))
    for url in ("/studies/", "/dashboard/", "/dashboard/MINI", "/", "/sites/SITEA"):
        assert_escaped(_get(client, url), PAYLOAD, url)
    on = visit.target_date.isoformat()
    for url in (f"/calendar/?date={on}", f"/calendar/week?date={on}", "/calendar/agenda",
                f"/participants/{participant.id}", f"/participants/{participant.id}/print",
                f"/visits/{visit.id}", f"/visits/{visit.id}/forms/NOTE"):
        assert_escaped(_get(client, url), PAYLOAD, url)  # visit name, form title, item label
    values = _save_text(client, f"/visits/{visit.id}/forms/NOTE", ["NOTETXT"])
    history = _get(client, f"/visits/{visit.id}/forms/NOTE/1/history")
    assert_escaped(history, values["NOTETXT"], "history")
    assert_escaped(_get(client, "/screening/new"), PAYLOAD, "screening/new")  # title, site name

    resp = client.post("/screening/new", data={"study": "MINI", "site": "SITEA",
                                               "screening_number": "XSS-2"})
    screening_url = resp.headers["Location"]
    session.rollback()
    screening = session.scalar(select(Screening).where(Screening.screening_number == "XSS-2"))
    values = _save_text(client, screening_url, ["SCRNOTE"], screening.entry.version)
    for url in (screening_url, f"{screening_url}/history"):
        page = _get(client, url)
        assert_escaped(page, values["SCRNOTE"], url)  # and the criterion, sub-group, label


def _entry(session, visit_id: int) -> CrfEntry:
    session.rollback()
    session.expire_all()
    return session.scalar(select(CrfEntry).where(CrfEntry.visit_id == visit_id))


def test_reasons_queries_and_answers_are_escaped(client, session, two_sites, payload_site):
    """Free text besides item values: a reason for change, a query and its answer, and the
    reasons of an unscheduled visit, a visit not done and a withdrawal (in the audit trail)."""
    participant, pid = payload_site, payload_site.id
    text = {k: f"{PAYLOAD} [{k}]" for k in ("reason", "query", "answer", "extra", "skip", "out")}
    visit = session.scalar(select(Visit).where(Visit.participant_id == pid))
    crf = f"/visits/{visit.id}/forms/NOTE"
    login(client, "coord-a")
    _save_text(client, crf, ["NOTETXT"])
    entry = _entry(session, visit.id)
    resp = client.post(crf, data={"NOTETXT": "plain", "entry_version": str(entry.version),
                                  "change_reason": text["reason"]})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert_escaped(_get(client, f"{crf}/1/history"), text["reason"], "CRF history")

    monitor = client.application.test_client()
    login(monitor, "mon-a")
    resp = monitor.post(f"/queries/new/{entry.id}/NOTETXT", data={"text": text["query"]})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    session.rollback()
    query = session.scalar(select(Query))
    resp = client.post(f"/queries/{query.id}/answer",
                       data={"answer-text": text["answer"],
                             "answer-version": str(query.version)})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    page = _get(monitor, f"/queries/{query.id}")
    for key in ("query", "answer"):
        assert_escaped(page, text[key], "query page")
    for url in ("/queries/", crf):
        assert_inert(_get(monitor, url), url)

    for url, data in ((f"/participants/{pid}/unscheduled",
                       {"on": participant.start_date.isoformat(), "reason": text["extra"]}),
                      (f"/visits/{visit.id}/not-done", {"reason": text["skip"]}),
                      (f"/participants/{pid}/withdraw", {"reason": text["out"]})):
        assert client.post(url, data=data).status_code == 302, url
    for url in (f"/participants/{pid}", f"/participants/{pid}/print", f"/visits/{visit.id}"):
        assert_inert(_get(client, url), url)
    admin = client.application.test_client()
    login(admin, "root-admin")
    page = _get(admin, "/admin/audit")
    for key in ("reason", "query", "answer", "extra", "skip", "out"):
        assert_escaped(page, text[key], f"audit trail ({key})")


def test_the_admin_pages_escape_site_names(client, session, two_sites, payload_site):
    login(client, "root-admin")
    assert_escaped(_get(client, "/admin/sites"), PAYLOAD, "/admin/sites")
    for url in ("/admin/users", "/admin/audit", "/admin/sites/SITEA/reminders", "/queries/",
                "/outbox/", "/feeds/"):
        assert_inert(_get(client, url), url)


def test_reminder_emails_escape_site_and_visit_names(app, session, two_sites, payload_site):
    """The HTML part escapes them; the text part is plain text and carries them as typed."""
    from app.db import db
    from app.notify import outbox
    from app.notify.models import OutboxMessage
    from app.notify.sweep import sweep

    zone = ZoneInfo("Asia/Seoul")
    now = datetime.combine(site_today(two_sites["a"]), time(9), zone).astimezone(UTC)
    with app.app_context(), db.writing() as s:
        sweep(s, now)
        assert outbox.build(s, now, "https://ecrf.example.org", 7) >= 1
    session.rollback()
    (message,) = session.scalars(select(OutboxMessage)).all()
    assert PAYLOAD not in message.subject
    assert_escaped(message.body_html, PAYLOAD, "e-mail HTML part")
    assert f"({PAYLOAD})" in message.body_text  # the site's name, as typed
    assert f"{PAYLOAD} is " in message.body_text  # the visit's name
    client = app.test_client()
    login(client, "coord-a")
    page = _get(client, "/outbox/")
    assert_inert(page, "/outbox/")


def test_payload_study_really_carries_the_payload(tmp_path):
    """Guards the test above: the loader kept every payload as it was written."""
    root = _payload_study(tmp_path)
    (protocol,) = study_services.read_definitions(root / "schedules", root / "forms")
    assert protocol.study.title == PAYLOAD
    assert protocol.forms["NOTE"].items["NOTETXT"].label == PAYLOAD
    assert protocol.study.schedule.visits[0].name == PAYLOAD
    assert protocol.screening.criteria[0].text == PAYLOAD
