"""Benchmark 3: the site calendar's month page and the participant list, with the whole
network in the database, against the same routes rendering a hand-written query's rows.

Each page is requested through the application (in-process WSGI test client: the whole
request, access checks, session and template included) by a signed-in user. The baseline
swaps only where the rows come from: `app.calendar.views.entries` and
`app.participants.listing.page` are replaced, for the baseline's requests, by functions that
run one hand-written SQL statement each (the calendar's statuses computed in SQL, for each
site's own date) and hand the template the same rows. The number of SQL statements per page
is counted on a big page and a near-empty one: it must be the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select, text

from app import access, create_app
from app.calendar import views as calendar_views
from app.db import db
from app.domain.schedule import Status
from app.model_base import utcnow
from app.participants import listing
from app.participants.models import Participant
from app.sites.models import Site
from bench.harness import Comparison, Context, Figure, Goal, Result, percentile, stopwatch
from bench.network import PASSWORD
from bench.sweep import STATUS

TODAY = "(CAST(:now AS timestamptz) AT TIME ZONE s.timezone)::date"


@dataclass(frozen=True)
class PageCase:
    name: str
    username: str
    path: str
    near_empty: str  # the same page with a handful of rows, for the statement count


def run(ctx: Context) -> Result:
    app = create_app({"DATABASE_URL": ctx.url, "SECRET_KEY": "bench", "APP_ENV": "development",
                      "WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": False})
    try:
        return _measure(ctx, app)
    finally:
        app.extensions["db_engine"].dispose()


def _measure(ctx: Context, app: Flask) -> Result:
    big, small = _sites(app)
    long_ago = (date.today() - timedelta(days=6 * 365)).isoformat()
    cases = [
        PageCase(f"{big}'s calendar, this month", f"coord-{big}", "/calendar/",
                 f"/calendar/?date={long_ago}"),
        PageCase(f"{big}'s participant list", f"coord-{big}", "/participants/",
                 f"/participants/?q={big}-0001"),
        PageCase("participant list, all sites (data manager)", "datamanager",
                 "/participants/", f"/participants/?q={small}-0001"),
    ]
    requests = 5 if ctx.quick else 40
    result = Result("pages", "Calendar month page and participant list",
                    f"p95 of {requests} requests per run, in-process, signed in")
    clients = {u: _signed_in(app, u) for u in {c.username for c in cases}}
    for case in cases:
        client = clients[case.username]
        result.comparisons.append(_compare(ctx, client, case, requests))
        big_count, small_count = (_statements(app, client, p)
                                  for p in (case.path, case.near_empty))
        result.figures[f"SQL statements, {case.name}"] = \
            f"{big_count} (and {small_count} on a page with a handful of rows)"
        if big_count != small_count:
            result.notes.append(f"{case.name}: the statement count depends on the data")
    result.figures["rows on the pages"] = _sizes(app, clients, cases)
    return result


def _sites(app: Flask) -> tuple[str, str]:
    """The site with the most participants, and the one with the fewest."""
    with app.app_context():
        rows = db.session.execute(select(Site.code, func.count(Participant.id))
                                  .join(Participant, Participant.site_id == Site.id)
                                  .group_by(Site.code).order_by(func.count(Participant.id)))
        ordered = [code for code, _ in rows]
    return ordered[-1], ordered[0]


def _signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    answer = client.post("/login", data={"username": username, "password": PASSWORD})
    if answer.status_code != 302:
        raise RuntimeError(f"cannot sign in as {username}: {answer.status_code}")
    return client


def _compare(ctx: Context, client: FlaskClient, case: PageCase, requests: int) -> Comparison:
    app_p95, base_p95 = Figure("ms"), Figure("ms")
    _get(client, case.path)  # warm: templates compiled, protocol definitions built
    for n in range(ctx.repeats):
        runs = [(app_p95, _nothing), (base_p95, hand_written)]
        for figure, swap in runs if n % 2 == 0 else reversed(runs):
            with swap():
                figure.samples.append(_p95(client, case.path, requests))
        ctx.progress(f"    {case.name}: app {app_p95.samples[-1]:.1f} ms, "
                     f"baseline {base_p95.samples[-1]:.1f} ms (p95)")
    return Comparison(f"{case.name}, p95 (ms)", app_p95, base_p95, Goal(1.5),
                      baseline_name="hand-written query")


def _p95(client: FlaskClient, path: str, requests: int) -> float:
    times = []
    for _ in range(requests):
        with stopwatch() as elapsed:
            _get(client, path)
        times.append(elapsed() * 1000)
    return percentile(times, 0.95)


def _get(client: FlaskClient, path: str) -> bytes:
    answer = client.get(path)
    if answer.status_code != 200:
        raise RuntimeError(f"GET {path}: {answer.status_code}")
    return answer.data


def _statements(app: Flask, client: FlaskClient, path: str) -> int:
    count = [0]

    def counted(*_args) -> None:
        count[0] += 1

    engine = app.extensions["db_engine"]
    event.listen(engine, "before_cursor_execute", counted)
    try:
        _get(client, path)
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    return count[0]


def _sizes(app: Flask, clients: dict[str, FlaskClient], cases: list[PageCase]) -> str:
    shown = []
    for case in cases:
        page = _get(clients[case.username], case.path).decode()
        rows = page.count('class="chip') or page.count("<tr><td><a href=\"/participants/")
        shown.append(f"{case.name}: {rows:,}")
    return "; ".join(shown)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@contextmanager
def hand_written() -> Iterator[None]:
    """The two views take their rows from the hand-written queries below."""
    saved = calendar_views.entries, listing.page
    calendar_views.entries, listing.page = _calendar_rows, _participant_rows
    try:
        yield
    finally:
        calendar_views.entries, listing.page = saved


def _site_clause(column: str) -> tuple[str, dict]:
    scope = access.visible_sites()
    if scope.all_sites:
        return "TRUE", {}
    return f"{column} = ANY(:sites)", {"sites": sorted(scope.site_ids)}


CALENDAR = """SELECT v.id, v.code, v.name, v.anchor, v.target_date, v.window_start, v.window_end,
  p.participant_code, p.id AS pid, s.code AS site, st.code AS study, {status} AS status
FROM visits v JOIN participants p ON p.id = v.participant_id JOIN sites s ON s.id = v.site_id
JOIN studies st ON st.id = p.study_id
WHERE v.window_start <= :last AND v.window_end >= :first AND {sites}
ORDER BY v.target_date, s.code, p.participant_code, v.id"""


def _calendar_rows(filters, first: date, last: date) -> list:
    sites, params = _site_clause("v.site_id")
    sql = CALENDAR.format(status=STATUS.format(today=TODAY), sites=sites)
    rows = db.session.execute(text(sql), {"first": first, "last": last, "now": utcnow(),
                                          **params})
    return [calendar_views.Entry(SimpleNamespace(id=r.id, code=r.code, name=r.name,
                                                 anchor=r.anchor, target_date=r.target_date,
                                                 window_start=r.window_start,
                                                 window_end=r.window_end),
                                 r.participant_code, r.pid, r.site, r.study, Status(r.status))
            for r in rows]


PARTICIPANTS = """SELECT p.id, p.participant_code, st.code, s.code, s.timezone, p.subgroup, p.arm,
  p.enrolled_at, (SELECT count(*) FROM queries q WHERE q.participant_id = p.id
                  AND q.status <> 'closed') AS open_queries
FROM participants p JOIN sites s ON s.id = p.site_id JOIN studies st ON st.id = p.study_id
WHERE {sites}{code}
ORDER BY p.enrolled_at DESC, p.id DESC LIMIT :size OFFSET :skip"""


def _participant_rows(session, visible, query_scope, number: int,
                      code: str | None = None) -> listing.Page:
    sites, params = _site_clause("p.site_id")
    params |= {"code": f"%{code}%", "size": listing.PAGE_SIZE,
               "skip": (number - 1) * listing.PAGE_SIZE}
    matching = " AND p.participant_code ILIKE :code" if code else ""
    total = session.scalar(text(f"SELECT count(*) FROM participants p WHERE {sites}{matching}"),
                           params)
    rows = session.execute(text(PARTICIPANTS.format(sites=sites, code=matching)), params)
    return listing.Page([listing.Row(*r) for r in rows], number, total)

