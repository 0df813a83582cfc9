"""Benchmark 2: the visit-status sweep over the whole network against one hand-written UPDATE.

The application's sweep (`app.notify.sweep.sweep`: statuses, the record of each change and
the reminders they cause) and the baseline (one UPDATE computing the same statuses and
nothing else) each run in a transaction that is rolled back, so every run starts from the
same not-yet-swept network; VACUUM between runs (not timed) clears what the last one left.
Inside the application's transaction a second sweep follows the first: it must change
nothing. Both must leave the same statuses: the bench checks it on every run.
"""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app.model_base import utcnow
from app.notify.sweep import sweep
from bench.harness import Comparison, Context, Figure, Goal, Result, interleave, stopwatch

STATUS = """CASE
  WHEN v.actual_date IS NOT NULL AND v.actual_date BETWEEN v.window_start AND v.window_end
    THEN 'completed'
  WHEN v.actual_date IS NOT NULL THEN 'completed_out_of_window'
  WHEN v.not_done_reason IS NOT NULL THEN 'not_done'
  WHEN v.cancelled_at IS NOT NULL THEN 'cancelled'
  WHEN v.window_start > {today} + s.reminder_lead_days THEN 'scheduled'
  WHEN v.window_start > {today} THEN 'upcoming'
  WHEN v.target_date >= {today} THEN 'due'
  WHEN v.window_end >= {today} THEN 'overdue'
  ELSE 'missed' END"""
TODAY = "(CAST(:now AS timestamptz) AT TIME ZONE s.timezone)::date"
BASELINE = (f"UPDATE visits AS v SET status = {STATUS.format(today=TODAY)} FROM sites AS s "
            f"WHERE s.id = v.site_id AND v.status <> {STATUS.format(today=TODAY)}")
TALLY = "SELECT status, count(*) FROM visits GROUP BY status ORDER BY status"


def run(ctx: Context) -> Result:
    engine, now = ctx.engine, utcnow()
    first, baseline, second = Figure("s"), Figure("s"), Figure("s")
    seen: dict[str, object] = {}

    def app() -> float:
        with engine.connect() as conn, conn.begin() as tx:
            session = Session(bind=conn)
            with stopwatch() as elapsed:
                report = sweep(session, now)
                session.flush()
            took = elapsed()
            with stopwatch() as again:
                rerun = sweep(session, now)
            second.samples.append(again())
            _check(seen, "app", report.changes, conn.execute(text(TALLY)).all(), rerun.changes)
            seen["reminders"] = report.reminders
            tx.rollback()
        _vacuum(engine)
        return took

    def hand_written() -> float:
        with engine.connect() as conn, conn.begin() as tx:
            with stopwatch() as elapsed:
                changed = conn.execute(text(BASELINE), {"now": now}).rowcount
            took = elapsed()
            _check(seen, "baseline", changed, conn.execute(text(TALLY)).all())
            tx.rollback()
        _vacuum(engine)
        return took

    _vacuum(engine)
    interleave(ctx.repeats, app, hand_written, first, baseline, ctx.progress)
    with engine.connect() as conn:
        visits = conn.scalar(text("SELECT count(*) FROM visits"))
    return Result(
        "sweep", "Visit-status sweep",
        f"{visits:,} visits; the first sweep of a network never swept "
        f"({seen['changes']:,} statuses change, {seen['reminders']:,} reminders), then again",
        [Comparison("first sweep (s)", first, baseline, Goal(1.5),
                    baseline_name="one UPDATE"),
         Comparison("second sweep (s), against the first", second, first, Goal(0.2),
                    baseline_name="first sweep")],
        notes=["The application also records every change (visit_status_changes) and "
               "creates the reminders; the UPDATE only sets the statuses."])


def _check(seen: dict, who: str, changed: int, tally: list, rerun: int = 0) -> None:
    """Every run changes the same visits to the same statuses; a second sweep changes none."""
    if rerun:
        raise AssertionError(f"the second sweep changed {rerun} visits")
    expected = seen.setdefault("tally", tally), seen.setdefault("changes", changed)
    if (tally, changed) != expected:
        raise AssertionError(f"{who}: {changed} changes {tally}, expected {expected}")


def _vacuum(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE visits, visit_status_changes, reminders"))

