"""The audit trail is append-only and hash-chained: tampering is found, row by row."""

import threading

import pytest
from sqlalchemy import text, update

from app.audit import services as audit
from app.audit.chain import AuditTampering, verify
from app.audit.models import AuditEvent
from app.db import db
from app.sites.models import Site
from tests.conftest import make_test_app
from tests.support import factories


def _trail(session, n: int = 5) -> None:
    site = factories.site(session, "CHAIN")
    session.commit()
    for i in range(n):
        audit.update(session, site, {"name": f"name {i}"}, actor=None, reason="test")
        session.commit()


def test_intact_chain_verifies(session):
    _trail(session)
    verdict = verify(session)
    assert verdict.broken_at is None and verdict.rows >= 5


def test_an_edited_row_is_found(app, session):
    _trail(session)
    target = session.scalars(text("SELECT id FROM audit_events ORDER BY id")).all()[3]
    with app.extensions["db_engine"].begin() as conn:  # an attacker with database access
        conn.execute(text("UPDATE audit_events SET new_value = 'forged' WHERE id = :i"),
                     {"i": target})
    session.rollback()
    verdict = verify(session)
    assert verdict.broken_at == target and "edited" in verdict.problem


def test_a_deleted_row_is_found(app, session):
    _trail(session)
    ids = session.scalars(text("SELECT id FROM audit_events ORDER BY id")).all()
    with app.extensions["db_engine"].begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id = :i"), {"i": ids[2]})
    session.rollback()
    verdict = verify(session)
    assert verdict.broken_at == ids[3] and "deleted" in verdict.problem


def test_the_orm_refuses_to_change_or_delete_audit_rows(session):
    _trail(session, 1)
    row = session.query(AuditEvent).first()
    row.new_value = "changed"
    with pytest.raises(AuditTampering):
        session.flush()
    session.rollback()
    session.delete(session.query(AuditEvent).first())
    with pytest.raises(AuditTampering):
        session.flush()
    session.rollback()


def test_concurrent_writers_keep_one_chain(app, session):
    site = factories.site(session, "BUSY2")
    session.commit()

    def write(n: int) -> None:
        with app.app_context():
            for i in range(10):
                with db.writing() as tx:
                    audit.update(tx, tx.get(Site, site.id, with_for_update=True),
                                 {"name": f"{n}-{i}"}, actor=None, reason="load")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    session.rollback()
    verdict = verify(session)
    assert verdict.broken_at is None and verdict.rows >= 40


def test_cli_verify(database_url, session):
    _trail(session)
    app = make_test_app(database_url)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "chain is intact" in ok.output
    with app.extensions["db_engine"].begin() as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.field == "name")
                     .values(reason="rewritten"))
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1 and "is broken" in broken.output
    app.extensions["db_engine"].dispose()
