"""Several writers at once: nobody gets "database is locked"."""

import threading

from sqlalchemy import func, select

from app.audit import services as audit
from app.audit.models import AuditEvent
from app.db import db
from app.sites.models import Site
from tests.support import factories

WRITERS = 8
ROUNDS = 15


def test_eight_concurrent_read_then_write_transactions(app, session):
    site = factories.site(session, "BUSY")
    session.commit()
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS, timeout=60)

    def writer(n: int) -> None:
        try:
            with app.app_context():
                start.wait()
                for i in range(ROUNDS):
                    with db.writing() as tx:
                        # read, then write: deferred SQLite fails this with "database is locked"
                        current = tx.get(Site, site.id, with_for_update=True)
                        audit.update(tx, current, {"name": f"w{n}-r{i}"}, actor=None,
                                     reason="load test")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    session.rollback()  # end the read snapshot, see what others committed
    session.expire_all()
    assert session.get(Site, site.id).version == 1 + WRITERS * ROUNDS
    updates = session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "update"))
    assert updates == WRITERS * ROUNDS


def test_eight_concurrent_form_posts(app, two_sites):
    errors: list[BaseException] = []
    statuses: list[int] = []
    start = threading.Barrier(WRITERS, timeout=60)

    def post(n: int) -> None:
        try:
            client = app.test_client()
            client.post("/login", data={"username": "root-admin",
                                        "password": factories.PASSWORD})
            start.wait()
            for i in range(5):
                resp = client.post("/admin/sites/new", data={
                    "code": f"P{n}X{i}", "name": f"Parallel {n}/{i}", "timezone": "Asia/Tokyo"})
                statuses.append(resp.status_code)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert statuses == [302] * (WRITERS * 5)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Site)) == 2 + WRITERS * 5
