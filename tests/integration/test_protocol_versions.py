"""Loading is idempotent and versioned by content; participants keep their version."""

import copy
import json

from sqlalchemy import func, select

from app.studies import loader
from app.studies import services as study_services
from app.studies.models import ProtocolVersion
from tests.conftest import MINI


def _protocol(mutate=None):
    (docs,), _ = loader.discover(MINI / "schedules", MINI / "forms")
    docs = copy.deepcopy(docs)
    if mutate:
        mutate(docs)
    return loader.build(docs)


def test_same_content_same_version_amendment_new_version(session):
    first = study_services.store(session, _protocol())
    again = study_services.store(session, _protocol())
    assert (first.version, first.changed, again.version, again.changed) == (1, True, 1, False)

    def amend(docs):
        docs["forms/mini_screening.yaml"]["criteria"][0]["rule"]["all"][1]["value"] = 65

    amended = study_services.store(session, _protocol(amend))
    session.commit()
    assert (amended.version, amended.changed) == (2, True)
    assert session.scalar(select(func.count()).select_from(ProtocolVersion)) == 2


def test_a_stored_version_is_rebuilt_from_its_own_documents(session):
    study_services.store(session, _protocol())
    v1 = session.scalar(select(ProtocolVersion))

    def amend(docs):
        docs["forms/mini_screening.yaml"]["criteria"][0]["text"] = "Amended"

    study_services.store(session, _protocol(amend))
    session.commit()
    assert study_services.protocol_of(v1).screening.criteria[0].text == "Age 18 to 70"
    (current,) = study_services.current_versions(session)
    assert current.version == 2
    assert study_services.protocol_of(current).screening.criteria[0].text == "Amended"


def test_documents_survive_the_json_column(session):
    study_services.store(session, _protocol())
    session.commit()
    session.expire_all()
    row = session.scalar(select(ProtocolVersion))
    assert json.dumps(row.documents, sort_keys=True) == \
        json.dumps(_protocol().documents, sort_keys=True, default=str)
