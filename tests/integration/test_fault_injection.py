"""All or nothing: a write that fails after any one of its SQL statements leaves no trace.

Each write below runs again and again with a failure injected right after its 1st, 2nd, 3rd …
statement (an `after_cursor_execute` listener on the engine raises), until it runs to its end
without reaching the Nth: the number of statements is never written down, so the test follows
the save path as it grows (signature invalidation, automatic queries …). After every failure,
every row of every table must be exactly as before the first attempt; after the successful run,
the data is there and the audit hash chain verifies.

What the snapshot leaves out, and why:
- PostgreSQL sequences: they are counters, not rows, and PostgreSQL never rolls them back (by
  design), so a failed save may leave a gap in ids.
- `scheduler_leases`, for the reminders run only: the lease is taken and given back in
  transactions of their own around the run's data transaction, on purpose (a second scheduler
  must see it while the run works), so it changes whether the data transaction fails or not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, event, func, inspect, select, text
from sqlalchemy.orm import Session

from app.audit.chain import verify
from app.crf.models import CrfEntry
from app.domain.access import Role
from app.domain.signing import APPROVED
from app.models import Base
from app.notify import jobs
from app.notify.models import OutboxMessage, Reminder, VisitStatusChange
from app.queries.models import Query
from app.signatures.models import Signature
from app.visits.models import Visit
from tests.conftest import login, make_test_app
from tests.support import factories
from tests.support.database import empty_all_tables

DAY0 = date(2026, 3, 2)
Snapshot = dict[str, list[tuple]]


class InjectedFault(RuntimeError):
    """The failure this test injects; nothing in the app may swallow it."""


@dataclass
class FaultInjector:
    """Raises InjectedFault right after the `fail_at`-th statement seen while armed."""

    fail_at: int
    armed: bool = True
    seen: int = 0
    statement: str | None = None

    def after_statement(self, _conn, _cursor, statement, *_args) -> None:
        if not self.armed:
            return
        self.seen += 1
        if self.seen == self.fail_at:
            self.statement = statement
            raise InjectedFault(f"after statement {self.seen}: {statement[:120]}")

    @property
    def fired(self) -> bool:
        return self.statement is not None


@contextmanager
def injecting(engine: Engine, fault: FaultInjector) -> Iterator[FaultInjector]:
    event.listen(engine, "after_cursor_execute", fault.after_statement)
    try:
        yield fault
    finally:
        event.remove(engine, "after_cursor_execute", fault.after_statement)


def snapshot(engine: Engine, leave_out: frozenset[str] = frozenset()) -> Snapshot:
    """Every row of every table in the database (alembic_version too), in a stable order."""
    models = {t.name: t for t in Base.metadata.sorted_tables}
    rows: Snapshot = {}
    with engine.connect() as conn:
        for name in sorted(set(inspect(conn).get_table_names()) - leave_out):
            table = models.get(name)
            if table is None:  # not a model: compared as the driver returns it
                result = conn.execute(text(f'SELECT * FROM "{name}"'))
                rows[name] = sorted((tuple(r) for r in result), key=repr)
            else:
                order = list(table.primary_key.columns) or list(table.columns)
                rows[name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
    assert set(models) - leave_out <= set(rows)
    return rows


def changes(before: Snapshot, after: Snapshot) -> str:
    """Per changed table, the rows that went and the rows that came (for the failure message)."""
    lines = []
    for name in before:
        gone = [r for r in before[name] if r not in after.get(name, [])]
        came = [r for r in after.get(name, []) if r not in before[name]]
        if gone or came:
            lines.append(f"{name}: -{gone[:3]} +{came[:3]}")
    return "; ".join(lines)


def fail_after_each_statement(engine: Engine, write: Callable[[FaultInjector], object],
                              leave_out: frozenset[str] = frozenset()) -> int:
    """Run `write` failing after statement 1, 2, …; returns how many statements it took."""
    before = snapshot(engine, leave_out)
    n = 0
    while True:
        n += 1
        # anything but the injected failure fails the test
        with injecting(engine, FaultInjector(fail_at=n)) as fault, suppress(InjectedFault):
            write(fault)
        if not fault.fired:
            return fault.seen
        after = snapshot(engine, leave_out)
        assert after == before, (f"a failure after statement {n} ({fault.statement[:80]}) "
                                 f"left changes: {changes(before, after)}")


def assert_chain_verifies(session: Session) -> None:
    session.rollback()
    session.expire_all()
    verdict = verify(session)
    assert verdict.broken_at is None, verdict
    assert verdict.rows > 0


@pytest.fixture
def app(database_url):
    """The app with its clock pinned: a login session is then never 'touched' (last_seen_at
    is written at most once a minute), so nothing but the write under test changes a row."""
    pinned = datetime.now(UTC)
    app = make_test_app(database_url, CLOCK=lambda: pinned)
    yield app
    engine = app.extensions["db_engine"]
    empty_all_tables(engine)
    engine.dispose()


def _visit(session: Session, participant_id: int, code: str) -> Visit:
    session.rollback()
    session.expire_all()
    return session.scalar(select(Visit).where(Visit.participant_id == participant_id,
                                              Visit.code == code))


VITALS = {"SYSBP-value": "120", "SYSBP-unit": "mmHg", "PULSE-value": "72",
          "PULSE-unit": "bpm", "TEMP-value": "36.8", "TEMP-unit": "degC"}


def _signed_vitals_with_a_query(client, session, two_sites) -> tuple[int, CrfEntry]:
    """INF1's vital signs saved, signed by the investigator, and a monitor's query on SYSBP."""
    from app.queries import services as queries
    from app.signatures import services as signatures

    p = factories.enrolled(session, two_sites["a"], "CS20AT04", DAY0, two_sites["coord_a"])
    pi = factories.user(session, "pi-a", Role.INVESTIGATOR, two_sites["a"])
    session.commit()
    inf1 = _visit(session, p.id, "INF1")
    login(client, "coord-a")
    resp = client.post(f"/visits/{inf1.id}/forms/VS", data={**VITALS, "entry_version": "0"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    session.rollback()
    entry = session.scalar(select(CrfEntry).where(CrfEntry.visit_id == inf1.id))
    signatures.sign_crf(session, entry, signer=pi, password=factories.PASSWORD, meaning=APPROVED)
    queries.raise_query(session, entry, "SYSBP", "Please check against the source.",
                        actor=two_sites["admin"])
    session.commit()
    return inf1.id, entry


def test_a_crf_edit_is_all_or_nothing(app, client, session, two_sites):
    visit_id, entry = _signed_vitals_with_a_query(client, session, two_sites)
    version = entry.version
    edit = {**VITALS, "SYSBP-value": "125", "PULSE-value": "140",  # 140 bpm: a soft-range query
            "entry_version": str(version), "change_reason": "transcription error"}

    def save(_fault: FaultInjector) -> None:
        resp = client.post(f"/visits/{visit_id}/forms/VS", data=edit)
        assert resp.status_code == 302, resp.get_data(as_text=True)

    statements = fail_after_each_statement(app.extensions["db_engine"], save)

    assert statements > 10
    session.rollback()
    session.expire_all()
    saved = session.get(CrfEntry, entry.id)
    assert {v.item_code: v.value for v in saved.values}["PULSE"] == "140"
    assert saved.version == version + 1
    (signature,) = session.scalars(select(Signature)).all()
    assert signature.invalidated_at is not None
    queries = {q.item_code: q.status for q in session.scalars(select(Query))}
    assert queries["PULSE"] == "open" and queries["SYSBP"] != "open"  # auto; corrected
    assert_chain_verifies(session)


def test_recording_a_visit_date_that_moves_later_visits_is_all_or_nothing(
        app, client, session, two_sites):
    p = factories.enrolled(session, two_sites["a"], "CS20AT04", DAY0, two_sites["coord_a"])
    session.commit()
    login(client, "coord-a")
    inf1 = _visit(session, p.id, "INF1")
    assert client.post(f"/visits/{inf1.id}/date",
                       data={"actual_date": DAY0.isoformat()}).status_code == 302
    inf2 = _visit(session, p.id, "INF2")
    day86 = (DAY0 + timedelta(days=86)).isoformat()

    def record(_fault: FaultInjector) -> None:
        resp = client.post(f"/visits/{inf2.id}/date",
                           data={"actual_date": day86, "confirm": day86})
        assert resp.status_code == 302, resp.get_data(as_text=True)

    statements = fail_after_each_statement(app.extensions["db_engine"], record)

    assert statements > 10
    assert _visit(session, p.id, "INF2").actual_date == DAY0 + timedelta(days=86)
    assert _visit(session, p.id, "INF2_D3").target_date == date(2026, 5, 30)
    assert_chain_verifies(session)


SEOUL = ZoneInfo("Asia/Seoul")


@pytest.fixture
def reminder_app(database_url, smtp_server):
    now = datetime.combine(DAY0 - timedelta(days=3), time(9), SEOUL).astimezone(UTC)
    app = make_test_app(database_url, CLOCK=lambda: now, MAIL_SERVER="127.0.0.1",
                        MAIL_PORT=smtp_server.port, SMTP_TIMEOUT_SECONDS=5,
                        BASE_URL="https://ecrf.example.org")
    yield app
    empty_all_tables(app.extensions["db_engine"])
    app.extensions["db_engine"].dispose()


def test_a_reminders_run_is_all_or_nothing(reminder_app, smtp_server, monkeypatch):
    """The run's data transaction (status sweep, reminders, outbox rows) fails as a whole; the
    failure is injected only there: before it the lease is taken, after it mail is sent."""
    from app.db import db

    with reminder_app.app_context(), db.writing() as s:
        site = factories.site(s, "SITEA", "Asia/Seoul")
        site.reminder_lead_days = 3
        coord = factories.user(s, "coord-a", Role.COORDINATOR, site)
        factories.enrolled(s, site, "CS20AT04", DAY0, coord)
    current: list[FaultInjector] = []
    sweep, send = jobs.sweep, jobs.sender.send_pending

    def armed_sweep(*args, **kwargs):
        current[-1].armed = True
        return sweep(*args, **kwargs)

    def disarmed_send(*args, **kwargs):
        current[-1].armed = False
        return send(*args, **kwargs)

    monkeypatch.setattr(jobs, "sweep", armed_sweep)
    monkeypatch.setattr(jobs.sender, "send_pending", disarmed_send)

    def run(fault: FaultInjector) -> None:
        fault.armed = False
        current.append(fault)
        assert jobs.run_once(reminder_app).ran

    engine = reminder_app.extensions["db_engine"]
    statements = fail_after_each_statement(engine, run, frozenset({"scheduler_leases"}))

    assert statements > 5
    with Session(bind=engine) as session:
        count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
        assert count(VisitStatusChange) > 0 and count(Reminder) > 0
        assert session.scalars(select(OutboxMessage.state)).all() == ["sent"]
        assert_chain_verifies(session)
    assert len(smtp_server.messages) == 1
