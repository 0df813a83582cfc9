"""Benchmark 4: the CSV and ODM exports of UCMSC-LN against `COPY … TO STDOUT` of their rows.

Each export runs in a process of its own (bench/export_run.py), to its last chunk; its
baseline is a COPY (psycopg's `cursor.copy`, every block read) of hand-written SELECTs
producing the same rows (bench/export_sql.py), in one REPEATABLE READ transaction like the
export's. Throughput is exported participants per second. Peak memory is each export
process's high-water resident set: every site (the timed runs) against a tenth of the sites.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.exports.csv_export import study_forms
from app.participants.models import Participant
from app.sites.models import Site
from app.studies.models import Study
from bench import export_run, export_sql
from bench.export_run import Run
from bench.harness import Comparison, Context, Figure, Goal, Result, interleave, stopwatch

STUDY = export_run.STUDY
FORMATS = ("csv", "odm")
ODM_REPEATS = 2  # an ODM run and its COPY take about a minute and a half at full scale
MiB = 2**20


@dataclass(frozen=True)
class Scope:
    study_id: int
    participants: int
    statements: dict[str, list[str]]  # the baseline's SELECTs per format
    tenth: frozenset[int]  # the sites of the small export, for peak memory


def run(ctx: Context) -> Result:
    if ctx.engine.dialect.name != "postgresql":
        return Result("exports", "CSV and ODM export",
                      "Not run: the baseline is PostgreSQL's COPY.")
    scope = _scope(ctx.engine)
    seen: dict[str, list[Run]] = {}
    comparisons = [_throughput(ctx, scope, fmt, seen) for fmt in FORMATS]
    small = {fmt: export_run.in_child(ctx.url, fmt, scope.tenth) for fmt in FORMATS}
    comparisons += [_memory(fmt, seen[f"{fmt} app"], small[fmt], scope) for fmt in FORMATS]
    csv, odm = seen["csv app"][0], seen["odm app"][0]
    return Result(
        "exports", "CSV and ODM export",
        f"{STUDY}, every site: {scope.participants:,} participants; CSV {csv.rows:,} rows "
        f"(CRF instances and visits), ODM {odm.rows:,} stored values. Throughput in "
        f"participants/s; ODM over {_counted(min(ctx.repeats, ODM_REPEATS), 'repeat')}. "
        f"Peak memory also for a tenth of the sites ({_counted(len(scope.tenth), 'site')}, "
        f"{_participants(ctx.engine, scope):,} participants).",
        comparisons, figures=_figures(seen, small), notes=NOTES)


NOTES = [
    "CSV baseline: per CRF, one row per instance with the file's key columns and every item "
    "column (value, unit, ULN, value in the protocol's unit) pivoted in SQL "
    "(max(…) FILTER (WHERE item_code = …)), then visits.csv's rows with the status computed "
    "in SQL; `COPY … WITH (FORMAT csv)`. It does not neutralise formula cells, format "
    "decimals and booleans as the export does, nor compress: the export writes a deflated "
    "zip.",
    "ODM baseline: one row per stored value with its subject, site, visit, CRF, the audit "
    "row of its last change (DISTINCT ON) and the valid signatures of its CRF and visit: "
    "every fact the ODM file holds, as CSV rather than XML.",
    "Row counts are checked on every run: the CSV export's rows equal the COPY's, the ODM "
    "file's ItemData elements equal the COPY's rows.",
    "Each export runs in a fresh process, warmed up by an export of no site (connected, its "
    "SQL compiled), timed around the export alone; its peak memory is the process's "
    "high-water resident set (VmHWM, reset just before the export), which counts the "
    "driver's buffers too. Flat: every site within 1.25× of a tenth of the sites.",
]


def _scope(engine: Engine) -> Scope:
    with Session(engine) as session:
        study = session.scalar(select(Study).where(Study.code == STUDY))
        if study is None:
            raise LookupError(f"the network has no study {STUDY}")
        forms = study_forms(session, study)
        participants = session.scalar(select(func.count(Participant.id))
                                      .where(Participant.study_id == study.id))
        sites = session.scalars(select(Site.id).order_by(Site.code)).all()
    csv_rows = [export_sql.form_rows(STUDY, study.id, f, None) for f in forms]
    return Scope(study.id, participants, {
        "csv": [*csv_rows, export_sql.visit_rows(STUDY, study.id, None)],
        "odm": [export_sql.value_rows(study.id, None)]},
        frozenset(sites[:max(1, len(sites) // 10)]))


def _throughput(ctx: Context, scope: Scope, fmt: str, seen: dict[str, list[Run]]) -> Comparison:
    repeats = ctx.repeats if fmt == "csv" else min(ctx.repeats, ODM_REPEATS)
    ctx.progress(f"  {fmt.upper()} export against COPY, {repeats} repeats")
    app, baseline = Figure("participants/s"), Figure("participants/s")

    def measured(who: str, take: Callable[[], Run]) -> Callable[[], float]:
        def once() -> float:
            done = take()
            runs = seen.setdefault(f"{fmt} {who}", [])
            if runs and runs[0].rows != done.rows:
                raise AssertionError(f"{fmt} {who}: {done.rows} rows, then {runs[0].rows}")
            runs.append(done)
            return scope.participants / done.seconds
        return once

    interleave(repeats, measured("app", lambda: export_run.in_child(ctx.url, fmt, None)),
               measured("copy", lambda: _copy(ctx.engine, scope.statements[fmt])),
               app, baseline, ctx.progress)
    wrote, copied = seen[f"{fmt} app"][0].rows, seen[f"{fmt} copy"][0].rows
    if wrote != copied:
        raise AssertionError(f"{fmt}: the export wrote {wrote} rows, the COPY {copied}")
    return Comparison(f"{fmt.upper()} export (participants/s)", app, baseline,
                      Goal(0.5, at_most=False) if fmt == "csv" else None,
                      baseline_name="COPY of the same rows")


def _copy(engine: Engine, statements: list[str]) -> Run:
    """COPY each SELECT to the client and read it all, in one snapshot like the export."""
    rows = size = 0
    with (stopwatch() as elapsed,
          engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn,
          conn.begin()):
        cursor = conn.connection.dbapi_connection.cursor()
        for statement in statements:
            with cursor.copy(export_sql.copy(statement)) as copy:
                for block in copy:
                    size += len(block)
            rows += cursor.rowcount
    return Run(elapsed(), rows, size)


def _memory(fmt: str, every_site: list[Run], tenth: Run, scope: Scope) -> Comparison:
    return Comparison(f"{fmt.upper()} peak RSS (MiB), every site against a tenth",
                      Figure("MiB", [r.peak / MiB for r in every_site]),
                      Figure("MiB", [tenth.peak / MiB]), Goal(1.25),
                      baseline_name=_counted(len(scope.tenth), "site"))


def _participants(engine: Engine, scope: Scope) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count(Participant.id)).where(
            Participant.study_id == scope.study_id,
            Participant.site_id.in_(sorted(scope.tenth))))


def _counted(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _mib(size: float) -> str:
    return f"{size / MiB:.1f} MiB"


def _figures(seen: dict[str, list[Run]], small: dict[str, Run]) -> dict[str, str]:
    out = {"Output": f"CSV zip {_mib(seen['csv app'][0].size)} (COPY "
                     f"{_mib(seen['csv copy'][0].size)} of CSV text), ODM XML "
                     f"{_mib(seen['odm app'][0].size)} (COPY {_mib(seen['odm copy'][0].size)})"}
    for fmt in FORMATS:
        grown = max(r.growth for r in seen[f"{fmt} app"])
        out[f"{fmt.upper()} memory above the process at rest"] = (
            f"{_mib(small[fmt].growth)} for a tenth of the sites, at most {_mib(grown)} for "
            "every site")
    return out
