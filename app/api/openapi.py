"""The OpenAPI 3.0 document of the JSON API, served at /api/v1/openapi.json.

Written by hand next to the views it describes; tests run schemathesis against it, so a view
that answers something this document does not allow fails the suite.
"""

from __future__ import annotations

from typing import Any

_DATE = {"type": "string", "format": "date"}
_NULLABLE_TEXT = {"type": "string", "nullable": True}
_ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    why = {400: "Malformed request", 401: "No valid API token", 403: "Not permitted",
           404: "Not found, or not visible to you", 409: "Conflict: changed meanwhile, "
           "locked, cancelled, or visits would move", 405: "Method not allowed here",
           422: "Values refused; nothing saved"}
    return {str(c): _json(_ref("Error"), why[c]) for c in codes}


_PATH_ID = {"in": "path", "required": True, "schema": _ID}
_FORM_PARAMS = [
    {"name": "visit_id", **_PATH_ID},
    {"name": "form_code", "in": "path", "required": True,
     "schema": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$", "maxLength": 40}},
    {"name": "sequence", **_PATH_ID},
]

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"},
        "problems": {"type": "object", "additionalProperties": {"type": "string"}},
        "moves": {"type": "array", "items": _ref("Move")},
        "current": _ref("Crf")}},
    "Participant": {"type": "object", "required": [
        "id", "participant_code", "study", "site", "withdrawn"], "properties": {
        "id": {"type": "integer"}, "participant_code": {"type": "string"},
        "study": {"type": "string"}, "site": {"type": "string"}, "subgroup": _NULLABLE_TEXT,
        "start_date": {**_DATE, "nullable": True},
        "enrolled_at": {"type": "string", "format": "date-time"},
        "withdrawn": {"type": "boolean"}}},
    "ParticipantPage": {"type": "object", "required": ["participants", "next_after"],
                        "properties": {
                            "participants": {"type": "array", "items": _ref("Participant")},
                            "next_after": {"type": "integer", "nullable": True}}},
    "Visit": {"type": "object", "required": [
        "id", "participant_id", "code", "name", "target_date", "window_start", "window_end",
        "status"], "properties": {
        "id": {"type": "integer"}, "participant_id": {"type": "integer"},
        "code": {"type": "string"}, "name": {"type": "string"}, "target_date": _DATE,
        "window_start": _DATE, "window_end": _DATE, "window_ours": {"type": "boolean"},
        "unscheduled": {"type": "boolean"}, "actual_date": {**_DATE, "nullable": True},
        "not_done_reason": _NULLABLE_TEXT, "status": {"type": "string", "enum": [
            "scheduled", "upcoming", "due", "overdue", "missed", "completed",
            "completed_out_of_window", "not_done", "cancelled"]}}},
    "ParticipantDetail": {"allOf": [_ref("Participant"), {"type": "object", "properties": {
        "visits": {"type": "array", "items": _ref("Visit")}}}]},
    "FormSummary": {"type": "object", "required": ["code", "title", "repeating", "instances"],
                    "properties": {"code": {"type": "string"}, "title": {"type": "string"},
                                   "repeating": {"type": "boolean"},
                                   "instances": {"type": "array",
                                                 "items": {"type": "integer"}}}},
    "VisitDetail": {"allOf": [_ref("Visit"), {"type": "object", "properties": {
        "forms": {"type": "array", "items": _ref("FormSummary")}}}]},
    "Move": {"type": "object", "required": ["code", "old_target", "new_target"], "properties": {
        "code": {"type": "string"}, "old_target": _DATE, "new_target": _DATE}},
    "StoredValue": {"type": "object", "required": ["value"], "properties": {
        "value": {"type": "string"}, "unit": _NULLABLE_TEXT, "uln": _NULLABLE_TEXT,
        "standard_value": _NULLABLE_TEXT, "standard_unit": _NULLABLE_TEXT}},
    "Crf": {"type": "object", "required": ["form", "sequence", "version", "values"],
            "properties": {"form": {"type": "string"}, "sequence": {"type": "integer"},
                           "version": {"type": "integer"},
                           "values": {"type": "object",
                                      "additionalProperties": _ref("StoredValue")}}},
    "EnteredValue": {"nullable": True, "oneOf": [
        {"type": "string"}, {"type": "number"}, {"type": "boolean"},
        {"type": "object", "properties": {
            "value": {"nullable": True, "oneOf": [{"type": "string"}, {"type": "number"}]},
            "unit": _NULLABLE_TEXT, "uln": {"nullable": True, "oneOf": [
                {"type": "string"}, {"type": "number"}]}}}]},
    "CrfWrite": {"type": "object", "required": ["version", "values"], "properties": {
        "version": {"type": "integer", "minimum": 0,
                    "description": "The version you read; 0 for a CRF never saved."},
        "values": {"type": "object", "additionalProperties": _ref("EnteredValue"),
                   "description": "Item code to value; items left out keep their value, "
                                  "null clears one. A quantity is {value, unit, uln}."},
        "reason": {**_NULLABLE_TEXT, "description": "Needed when a saved value changes."}}},
    "VisitDateWrite": {"type": "object", "required": ["actual_date"], "properties": {
        "actual_date": _DATE, "reason": _NULLABLE_TEXT,
        "confirm_moves": {"type": "boolean",
                          "description": "Accept that later visits move with this date."}}},
}


def document() -> dict[str, Any]:
    read = _errors(400, 401, 403, 404)
    write = _errors(400, 401, 403, 404, 405, 409, 422)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Lupus eCRF API", "version": "1",
                 "description": "Participants, visits and CRF data of the sites you may see. "
                                "Create a token on your account page and send it as "
                                "`Authorization: Bearer <token>`."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
                       "schemas": SCHEMAS},
        "paths": {
            "/participants": {"get": {
                "operationId": "listParticipants", "summary": "Participants you may see",
                "parameters": [
                    {"name": "study", "in": "query", "schema": {"type": "string"}},
                    {"name": "site", "in": "query", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query",
                     "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                    {"name": "after", "in": "query",
                     "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}}],
                "responses": {"200": _json(_ref("ParticipantPage"), "A page"), **read}}},
            "/participants/{participant_id}": {"get": {
                "operationId": "getParticipant",
                "parameters": [{"name": "participant_id", **_PATH_ID}],
                "responses": {"200": _json(_ref("ParticipantDetail"), "With visits"),
                              **read}}},
            "/visits/{visit_id}": {"get": {
                "operationId": "getVisit", "parameters": [{"name": "visit_id", **_PATH_ID}],
                "responses": {"200": _json(_ref("VisitDetail"), "With its forms"), **read}}},
            "/visits/{visit_id}/date": {"put": {
                "operationId": "recordVisitDate",
                "parameters": [{"name": "visit_id", **_PATH_ID}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _ref("VisitDateWrite")}}},
                "responses": {"200": _json(_ref("Visit"), "Recorded"), **write}}},
            "/visits/{visit_id}/forms/{form_code}/{sequence}": {
                "get": {"operationId": "getCrf", "parameters": _FORM_PARAMS,
                        "responses": {"200": _json(_ref("Crf"), "Stored values"), **read}},
                "put": {"operationId": "saveCrf", "parameters": _FORM_PARAMS,
                        "requestBody": {"required": True, "content": {"application/json": {
                            "schema": _ref("CrfWrite")}}},
                        "responses": {"200": _json(_ref("Crf"), "Saved"), **write}}},
        },
    }
