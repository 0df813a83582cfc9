"""Benchmark 1: first saves of the 40-field BENCH40 CRF by 16 concurrent clients through
gunicorn, against an endpoint of the same application doing one INSERT.

gunicorn serves bench.wsgi (the application plus the baseline's route) with 2 gthread
workers × 8 threads: one process per core of the machine (a process runs Python on one core
at a time), and threads enough that every client always has one while others wait for the
database. Each client is the coordinator of a different site, signed in with a login session
of its own, on one keep-alive connection; the connections are spread evenly over the workers.
The clients post back to back for a fixed time: each post is a first save (entry version 0)
of the next empty CRF of the client's site, with values in the site's lab units. The
baseline gets the identical request bodies. After every run the saves are checked (entries,
values, conversions, audit rows, the hash chain) and then removed, so each run saves the
same CRFs into the same network; at the end everything the benchmark added is gone.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine, delete, func, select

from app.auth.models import User
from app.domain.definitions import FormDef
from bench import clients as http
from bench import crf_checks, crf_forms, served
from bench.harness import Comparison, Context, Figure, Goal, Result, interleave, percentile
from bench.network import PASSWORD
from bench.wsgi import BASELINE

CLIENTS, WORKERS, THREADS = 16, 2, 8
SECONDS, QUICK_SECONDS, WARM_SECONDS = 10.0, 2.0, 1.0
BASELINE_PREFIX = "/bench/baseline"

Queue = list[tuple[str, bytes]]  # (CRF path, body) in the order a client posts them


@dataclass
class Runs:
    """The two measured sides and what their runs saw."""

    engine: Engine
    clients: list[http.Client]
    queues: list[Queue]
    form: FormDef
    posted: dict[int, crf_checks.Posted]
    base: crf_checks.Floors
    seconds: float
    throughput: tuple[Figure, Figure] = field(init=False)
    p95: tuple[Figure, Figure] = field(init=False)
    errors: tuple[Counter, Counter] = field(init=False)
    tally: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.throughput = Figure("saves/s"), Figure("saves/s")
        self.p95 = Figure("ms"), Figure("ms")
        self.errors = Counter(), Counter()

    def warm_up(self, seconds: float) -> None:
        """Each worker builds the protocol and fills its pool; the figures are dropped."""
        measured, self.seconds = self.seconds, seconds
        self.app(), self.baseline()
        self.seconds = measured
        self.__post_init__()

    def app(self) -> float:
        outcome = http.drive(self.clients, lambda n: iter(self.queues[n]), self.seconds)
        if any(s >= len(q) for s, q in zip(outcome.saved, self.queues, strict=True)):
            raise RuntimeError("a client saved every empty CRF of its site: run shorter")
        self.tally = crf_checks.check(self.engine, self.base, self.form, self.posted,
                                      sum(outcome.saved))
        crf_checks.restore(self.engine, self.base)
        return self._record(0, outcome)

    def baseline(self) -> float:
        def posts(n: int) -> http.Posts:
            return ((BASELINE_PREFIX + p, b) for p, b in itertools.cycle(self.queues[n]))

        outcome = http.drive(self.clients, posts, self.seconds)
        with self.engine.begin() as conn:
            inserted = conn.scalar(select(func.count()).select_from(BASELINE))
            conn.execute(delete(BASELINE))
        if inserted != sum(outcome.saved):
            raise AssertionError(f"baseline: {inserted} rows, {sum(outcome.saved)} answers")
        return self._record(1, outcome)

    def _record(self, side: int, outcome: http.Outcome) -> float:
        self.p95[side].samples.append(percentile(outcome.latencies, 0.95) * 1000)
        self.errors[side].update(outcome.errors)
        return outcome.throughput


def run(ctx: Context) -> Result:
    desks = crf_forms.desks(ctx.engine, CLIENTS)
    before = crf_checks.floors(ctx.engine)
    with ctx.engine.begin() as conn:
        BASELINE.drop(conn, checkfirst=True)  # left by an interrupted run
        BASELINE.create(conn, checkfirst=True)
    try:
        ctx.progress(f"  gunicorn: {WORKERS} gthread workers × {THREADS} threads")
        with served.gunicorn(ctx.url, WORKERS, THREADS, ctx.workdir / "gunicorn.log") as server:
            return _measure(ctx, server, desks)
    finally:
        crf_checks.restore(ctx.engine, before, vacuum=True)  # the logins' rows too
        with ctx.engine.begin() as conn:
            BASELINE.drop(conn, checkfirst=True)


def _measure(ctx: Context, server: served.Server, desks: list[crf_forms.Desk]) -> Result:
    signed = [http.Client(server, d.username) for d in desks]
    try:
        return _signed_in(ctx, server, desks, signed)
    finally:
        for client in signed:
            client.close()


def _signed_in(ctx: Context, server: served.Server, desks: list[crf_forms.Desk],
               signed: list[http.Client]) -> Result:
    form = crf_forms.definition()
    for client, desk in zip(signed, desks, strict=True):
        client.sign_in(PASSWORD, crf_forms.path(desk.visits[0]))
    held = http.balance(signed, "/login")
    queues, posted = _queues(ctx.engine, form, desks, signed)
    runs = Runs(ctx.engine, signed, queues, form, posted, crf_checks.floors(ctx.engine),
                QUICK_SECONDS if ctx.quick else SECONDS)
    ctx.progress(f"  {len(signed)} clients signed in, connections per worker "
                 f"{sorted(held.values())}; warming up")
    runs.warm_up(WARM_SECONDS)
    interleave(ctx.repeats, runs.app, runs.baseline, *runs.throughput, ctx.progress)
    return _result(runs, held)


def _queues(engine: Engine, form: FormDef, desks: list[crf_forms.Desk],
            signed: list[http.Client]) -> tuple[list[Queue], dict[int, crf_checks.Posted]]:
    """Each client's posts, and what each visit's post holds (for the checks)."""
    with engine.connect() as conn:
        users = dict(conn.execute(select(User.username, User.id)
                                  .where(User.username.in_([d.username for d in desks]))).all())
    queues, posted = [], {}
    for desk, client in zip(desks, signed, strict=True):
        queue = []
        for visit_id in desk.visits:
            fields = crf_forms.fields(form, desk.site_index, random.Random(visit_id))
            posted[visit_id] = crf_checks.Posted(visit_id, users[desk.username], fields)
            queue.append((crf_forms.path(visit_id), crf_forms.body(fields, client.csrf)))
        queues.append(queue)
    return queues, posted


def _result(runs: Runs, held: Counter) -> Result:
    (app_rate, base_rate), (app_p95, base_p95) = runs.throughput, runs.p95
    database = runs.engine.dialect.name
    return Result(
        "crf_save", "CRF save, 16 concurrent clients",
        f"First saves of the 40-field CRF {crf_forms.definition().code} (15 lab values in "
        f"each site's units, converted; 24 yes/no and their derived SLEDAI-2K total) by "
        f"{CLIENTS} clients, coordinators of {CLIENTS} sites, each with a login session of "
        f"its own, through gunicorn ({WORKERS} gthread workers × {THREADS} threads) on "
        f"{'PostgreSQL' if database == 'postgresql' else database}; {runs.seconds:g} s per run",
        [Comparison("throughput (saves/s)", app_rate, base_rate, Goal(0.3, at_most=False),
                    baseline_name="one INSERT"),
         Comparison("p95 latency (ms)", app_p95, base_p95, Goal(3), baseline_name="one INSERT")],
        figures={"stored per save (last run)": _per_save(runs.tally),
                 "errors (answers other than 302)": _errors(runs.errors),
                 "connections per worker": ", ".join(str(n) for n in sorted(held.values()))},
        notes=NOTES)


def _per_save(tally: dict[str, int]) -> str:
    crfs = max(tally.get("CRFs", 0), 1)
    return (f"{tally.get('values', 0) / crfs:g} values ({tally.get('converted', 0) / crfs:.1f} "
            f"converted from the site's unit), {tally.get('audit rows', 0) / crfs:g} audit rows; "
            f"{tally.get('queries', 0)} automatic queries in {tally.get('CRFs', 0)} CRFs")


def _errors(errors: tuple[Counter, Counter]) -> str:
    app, baseline = errors
    what = dict(app + baseline)
    return f"app {sum(app.values())}, baseline {sum(baseline.values())}" + \
        (f" ({what})" if what else "")


NOTES = [
    "The baseline (bench/wsgi.py, registered only there) is a POST route of the same "
    "application answering the identical request: the login session looked up in the "
    "database, the CRF save's @access rule, Flask-WTF's CSRF check (which parses the whole "
    f"form body), then one INSERT into `{BASELINE.name}` (visit, form, user, number of "
    "fields), a commit and the same 302. It loads no visit and parses no value.",
    "The application's save: the visit with its participant and protocol (access to the "
    "site), the CRF's locks, the CRF created (the version check: entry version 0 means no CRF "
    "yet, and a CRF someone created meanwhile is a conflict), every value parsed and "
    "converted to the protocol's unit, 39 item values, 39 audit rows hash-chained after the "
    "locked chain head, signatures and soft-range queries looked at, one commit.",
    "gunicorn: one worker process per core (a process runs Python on one core at a time), "
    "8 threads each so that every client has one while others wait on the database; the "
    "16 keep-alive connections are spread 8 and 8 (a gthread worker keeps the connections "
    "it accepted).",
    "Every app run is checked: the CRFs answered 302 are stored once, each value as posted "
    "with its canonical value, one audit row each by the poster, the hash chain unbroken "
    "from where it was. The saves are then deleted and the chain head put back (not timed), "
    "so every run saves the same empty CRFs.",
]
