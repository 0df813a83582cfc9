"""Schemathesis against the served OpenAPI document: no 500s, and every answer matches it.

Cases are generated from the document (valid and invalid bodies, parameters and ids) and
sent with a real token to an app holding two sites' participants, so 200s, 404s, 409s and
422s all occur and each is checked against the schema.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app.api import tokens
from app.api.openapi import document
from tests.support import factories

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture
def api_app(app, session, two_sites):
    start = date.today() - timedelta(days=20)
    for site, coord, number in ((two_sites["a"], two_sites["coord_a"], "A01"),
                                (two_sites["b"], two_sites["coord_b"], "B01")):
        factories.enrolled(session, site, "CS20AT04", start, coord, number=number)
    app.config["API_TEST_TOKEN"] = tokens.create(session, two_sites["coord_a"], "fuzz").secret
    session.commit()
    return app


# The document the app serves (test_served_document_is_this_one checks they are the same).
schema = schemathesis.openapi.from_dict(document())


def test_served_document_is_this_one(client):
    assert client.get("/api/v1/openapi.json").json == document()


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_document(case, api_app):
    token = api_app.config["API_TEST_TOKEN"]
    case.call_and_validate(app=api_app, headers={"Authorization": f"Bearer {token}"},
                           checks=CHECKS)
