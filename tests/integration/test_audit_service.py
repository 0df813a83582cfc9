"""The one write path: data and its audit rows land together, with versions checked."""

import pytest
from sqlalchemy import select

from app.audit import services as audit
from app.audit.models import AuditEvent
from app.db import db
from app.sites.models import Site
from tests.support import factories


def _events(session, entity_type="sites"):
    return session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == entity_type).order_by(AuditEvent.id)
    ).all()


def test_create_writes_one_row_per_field(session):
    site = factories.site(session, "AUD1", "Europe/Berlin")
    session.commit()
    rows = _events(session)
    assert {(r.field, r.old_value, r.new_value) for r in rows} == {
        ("code", None, "AUD1"), ("name", None, "Site AUD1"), ("timezone", None, "Europe/Berlin"),
        ("reminder_lead_days", None, "7"), ("reminder_kinds", None, "upcoming,due,overdue,missed"),
        ("reminder_digest", None, "true"),
    }
    assert all(r.action == "create" and r.entity_id == site.id and r.site_id == site.id
               for r in rows)
    assert all(r.occurred_at.utcoffset().total_seconds() == 0 for r in rows)


def test_update_audits_old_and_new_with_reason_and_actor(session):
    site = factories.site(session, "AUD2")
    actor = factories.user(session, "editor")
    session.commit()
    changes = audit.update(session, site, {"name": "Renamed", "timezone": site.timezone},
                           actor=actor, reason="typo in name", expected_version=1)
    session.commit()
    assert [(c.field, c.old, c.new) for c in changes] == [("name", "Site AUD2", "Renamed")]
    last = _events(session)[-1]
    assert (last.action, last.field, last.old_value, last.new_value, last.reason, last.actor_id) \
        == ("update", "name", "Site AUD2", "Renamed", "typo in name", actor.id)
    assert site.version == 2


def test_change_without_reason_is_refused_and_nothing_changes(session):
    site = factories.site(session, "AUD3")
    session.commit()
    with pytest.raises(audit.ReasonRequired):
        audit.update(session, site, {"name": "New"}, actor=None, reason="  ")
    assert site.name == "Site AUD3"


def test_stale_version_is_a_conflict(session):
    site = factories.site(session, "AUD4")
    session.commit()
    with pytest.raises(audit.ConflictError):
        audit.update(session, site, {"name": "Late"}, actor=None, reason="r", expected_version=0)
    assert site.name == "Site AUD4"


def test_concurrent_writer_is_caught_by_the_version_column(app, session):
    site = factories.site(session, "AUD5")
    session.commit()
    with app.app_context(), db.writing() as other:  # someone else saves first
        audit.update(other, other.get(Site, site.id), {"name": "First"}, actor=None, reason="a")
    with pytest.raises(audit.ConflictError):  # the stale UPDATE, as a conflict
        audit.update(session, site, {"name": "Second"}, actor=None, reason="b")
    session.rollback()  # end the read snapshot, see what others committed
    session.expire_all()
    assert session.get(Site, site.id).name == "First"


def test_failure_after_the_change_leaves_neither_data_nor_audit(app, session):
    site = factories.site(session, "AUD6")
    session.commit()
    before = len(_events(session))
    with pytest.raises(RuntimeError), app.app_context(), db.writing() as tx:
        audit.update(tx, tx.get(Site, site.id), {"name": "Gone"}, actor=None, reason="r")
        raise RuntimeError("crash before commit")
    session.rollback()  # end the read snapshot, see what others committed
    session.expire_all()
    assert session.get(Site, site.id).name == "Site AUD6"
    assert len(_events(session)) == before
