"""The study dashboard: counts per site from GROUP BY queries, scoped to the user's sites,
and a number of SQL statements that does not grow with the number of participants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import event, select

from app.crf.models import CrfEntry
from app.domain.access import Role
from app.screening import services as screening
from app.screening.models import ScreeningStatus
from app.studies import services as study_services
from app.studies.models import Study
from app.visits.models import Visit
from tests.conftest import login
from tests.support import factories


class _Tables(HTMLParser):
    """Each table's caption and rows of cell texts (header cells included)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._rows: list[list[str]] | None = None
        self._caption: list[str] | None = None
        self._cell: list[str] | None = None
        self._name = ""

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._rows, self._name = [], ""
        elif tag == "caption":
            self._caption = []
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th") and self._rows is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "caption" and self._caption is not None:
            self._name, self._caption = " ".join("".join(self._caption).split()), None
        elif tag in ("td", "th") and self._cell is not None and self._rows:
            self._rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._rows is not None:
            self.tables[self._name] = self._rows
            self._rows = None

    def handle_data(self, data):
        if self._caption is not None:
            self._caption.append(data)
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def by_first_cell(rows: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in rows if row}


def _screening(session, site, actor, number: str, status: ScreeningStatus):
    study = session.scalar(select(Study).where(Study.code == "CS20AT04"))
    version = study_services.latest_version(session, study.id)
    record = screening.start(session, version, site, number, actor=actor)
    record.status = status.value
    return record


def _visit(session, participant, code: str) -> Visit:
    return session.scalar(select(Visit).where(Visit.participant_id == participant.id,
                                              Visit.code == code))


def _done(session, participant, code: str, days_late: int = 0, forms: tuple[str, ...] = ()):
    visit = _visit(session, participant, code)
    visit.actual_date = visit.window_end + timedelta(days=days_late) if days_late \
        else visit.target_date
    visit.status = "completed_out_of_window" if days_late else "completed"
    for form in forms:
        session.add(CrfEntry(site_id=visit.site_id, participant_id=participant.id,
                             visit_id=visit.id, form_code=form,
                             protocol_version_id=participant.protocol_version_id))
    return visit


INF1_FORMS = ("CS20AT04_INF", "VS", "LAB", "SLEDAI", "AE", "CM")


@pytest.fixture
def trial(session, two_sites):
    """SITEA: two enrolled (LN, LC), one screen failure, one in screening; SITEB: one (LN).

    SITEA's first participant: infusion 1 done in window with every CRF, day 3 done late with
    one CRF of five; the second missed infusion 1. SITEB's: infusion 1 done, no CRF entered.
    """
    a, b = two_sites["a"], two_sites["b"]
    start = date.today() - timedelta(days=40)
    a1 = factories.enrolled(session, a, "CS20AT04", start, two_sites["coord_a"], "SCR-1", "LN")
    a2 = factories.enrolled(session, a, "CS20AT04", start, two_sites["coord_a"], "SCR-2", "LC")
    b1 = factories.enrolled(session, b, "CS20AT04", start, two_sites["coord_b"], "SCR-1", "LN")
    _screening(session, a, two_sites["coord_a"], "SCR-3", ScreeningStatus.SCREEN_FAILED)
    _screening(session, a, two_sites["coord_a"], "SCR-4", ScreeningStatus.IN_PROGRESS)
    _done(session, a1, "INF1", forms=INF1_FORMS)
    _done(session, a1, "INF1_D3", days_late=1, forms=("VS",))
    _visit(session, a2, "INF1").status = "missed"
    _done(session, b1, "INF1")
    a1.enrolled_at = datetime(2026, 1, 10, 12, tzinfo=UTC)
    a2.enrolled_at = datetime(2026, 3, 5, 12, tzinfo=UTC)
    b1.enrolled_at = datetime(2026, 3, 20, 12, tzinfo=UTC)
    session.commit()
    return two_sites


def test_anonymous_is_sent_to_login(client, trial):
    for url in ("/dashboard/", "/dashboard/CS20AT04"):
        resp = client.get(url)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_unknown_study_is_404(client, trial):
    login(client, "coord-a")
    assert client.get("/dashboard/NOSUCH").status_code == 404


def test_index_lists_loaded_studies_with_links(client, trial):
    login(client, "root-admin")
    html = client.get("/dashboard/").get_data(as_text=True)
    rows = by_first_cell(tables(html)["Loaded studies and their enrolment"][1:])
    assert set(rows) >= {"CS20AT04 dashboard", "UCMSC-LN dashboard", "ALLOMSC-SLE dashboard"}
    assert rows["CS20AT04 dashboard"][-2:] == ["3", "—"]  # enrolled, no target in the protocol
    assert rows["ALLOMSC-SLE dashboard"][-2:] == ["0", "20"]
    assert 'href="/dashboard/CS20AT04"' in html


def test_admin_sees_every_site(client, trial):
    login(client, "root-admin")
    resp = client.get("/dashboard/CS20AT04")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    found = tables(html)
    sites = by_first_cell(found["Screening and enrolment per site"][1:])
    #                  screened, in screening, screen failed, enrolled, withdrawn
    assert sites["SITEA"] == ["4", "1", "1", "2", "0"]
    assert sites["SITEB"] == ["1", "0", "0", "1", "0"]
    assert sites["All sites"] == ["5", "1", "1", "3", "0"]
    visits = by_first_cell(found["Visit compliance, open queries and CRFs still to enter, "
                                 "per site"][1:])
    # done, in window, out of window, % in window, missed, not done, queries, visits, CRFs
    assert visits["SITEA"] == ["2", "1", "1", "50 %", "1", "0", "0", "1", "4"]
    assert visits["SITEB"] == ["1", "1", "0", "100 %", "0", "0", "0", "1", "6"]
    subgroups = by_first_cell(found["Enrolled by sub-group"][1:])
    assert subgroups == {"Lupus nephritis (LN)": ["2"], "Lupus cytopenia (LC)": ["1"]}
    months = by_first_cell(found["Enrolment per month"][1:])
    assert months["2026-01"] == ["1", "1"] and months["2026-02"] == ["0", "1"]
    assert months["2026-03"] == ["2", "3"]
    today = date.today()
    assert months[f"{today.year:04d}-{today.month:02d}"][-1] == "3"  # the curve runs to now
    assert "Enrolled by arm" not in found  # a single-arm study: no breakdown by arm
    assert 'role="img"' in html and "<svg" in html
    assert "the protocol gives no target" in html
    assert "not closed yet: open (waiting for the site)" in html  # what "open queries" counts


def test_coordinator_sees_only_own_site(client, trial):
    login(client, "coord-a")
    html = client.get("/dashboard/CS20AT04").get_data(as_text=True)
    assert "SITEB" not in html
    found = tables(html)
    sites = by_first_cell(found["Screening and enrolment per site"][1:])
    assert list(sites) == ["SITEA"]
    kpis = html.split('class="kpis"')[1].split("</dl>")[0]
    assert "<dt>Enrolled</dt><dd>2</dd>" in kpis and "<dt>Screened</dt><dd>4</dd>" in kpis
    months = by_first_cell(found["Enrolment per month"][1:])
    assert months["2026-03"] == ["1", "2"]
    assert "Enrolled by arm" not in found  # arms are concealed from coordinators
    assert client.get("/dashboard/").status_code == 200


def test_arm_breakdown_for_data_managers_only(client, session, two_sites):
    from app.participants.models import Participant

    start = date.today() - timedelta(days=10)
    for n, arm in enumerate(("MSC", "MMF", None), start=1):
        p = factories.enrolled(session, two_sites["a"], "UCMSC-LN", start,
                               two_sites["coord_a"], f"R-{n}")
        session.get(Participant, p.id).arm = arm
    factories.user(session, "dm", Role.DATA_MANAGER)
    session.commit()
    login(client, "dm")
    arms = by_first_cell(tables(client.get("/dashboard/UCMSC-LN").get_data(as_text=True))
                         ["Enrolled by arm"][1:])
    assert arms["Human umbilical cord mesenchymal stem cells (UC-MSC) (MSC)"] == ["1"]
    assert arms["Mycophenolate mofetil (MMF) (MMF)"] == ["1"]
    assert arms["not yet randomized (—)"] == ["1"]
    client.post("/logout")
    login(client, "coord-a")
    found = tables(client.get("/dashboard/UCMSC-LN").get_data(as_text=True))
    assert "Enrolled by arm" not in found  # arms are concealed from coordinators
    assert by_first_cell(found["Screening and enrolment per site"][1:])["SITEA"][3] == "3"


def test_a_study_nobody_is_screened_for_says_so(client, trial):
    login(client, "coord-a")
    resp = client.get("/dashboard/CD19CART-SLE")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Nobody enrolled yet at your sites" in html  # in the (empty) chart
    assert "No screening at your sites for this study yet." in html
    assert "<dt>Enrolled</dt><dd>0</dd>" in html


def test_text_from_the_database_is_escaped(client, session, trial):
    from app.sites.models import Site

    site = session.get(Site, trial["a"].id)
    site.name = "<script>alert(1)</script>"
    session.commit()
    login(client, "coord-a")
    html = client.get("/dashboard/CS20AT04").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def _statements(app, client, url: str) -> int:
    engine = app.extensions["db_engine"]
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def _add_participants(session, sites, how_many: int, first: int) -> None:
    start = date.today() - timedelta(days=60)
    for n in range(first, first + how_many):
        site = sites["a"] if n % 2 else sites["b"]
        actor = sites["coord_a"] if n % 2 else sites["coord_b"]
        p = factories.enrolled(session, site, "CS20AT04", start - timedelta(days=n), actor,
                               f"N-{n}", "LN" if n % 3 else "LC")
        _done(session, p, "INF1", forms=("VS",))
        _done(session, p, "INF1_D3", days_late=n % 2)
        _visit(session, p, "INF1_W1").status = "missed"
        p.enrolled_at = datetime(2026, 1 + n % 9, 1 + n % 27, tzinfo=UTC)
    session.commit()


def test_statements_do_not_grow_with_participants(app, client, session, two_sites):
    login(client, "root-admin")
    _add_participants(session, two_sites, 3, first=1)
    with_3 = {url: _statements(app, client, url) for url in ("/dashboard/CS20AT04",
                                                             "/dashboard/")}
    _add_participants(session, two_sites, 27, first=4)
    with_30 = {url: _statements(app, client, url) for url in with_3}
    assert with_30 == with_3
    assert with_3["/dashboard/CS20AT04"] <= 15
