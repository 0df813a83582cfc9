"""The CSV export: a zip of one file per CRF, visits and a dictionary, for the user's sites."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.crf import services as crf_services
from app.crf.models import CrfEntry
from app.domain.access import Role
from app.studies.services import protocol_of
from app.visits import services as visit_services
from tests.conftest import login
from tests.support import factories


def _fill(session, participant, actor, form_code: str, raw: dict, sequence: int = 1):
    visit = next(v for v in participant.visits
                 if form_code in visit_services.schedule_of(participant).visit(v.code).forms)
    entry = CrfEntry(site_id=participant.site_id, participant_id=participant.id,
                     visit_id=visit.id, form_code=form_code, sequence=sequence,
                     protocol_version_id=participant.protocol_version_id)
    session.add(entry)
    session.flush()
    form = protocol_of(participant.protocol_version).forms[form_code]
    crf_services.save(session, entry, form, raw, actor=actor, reason=None)
    return visit


@pytest.fixture
def exported_world(session, two_sites):
    a, b = two_sites["a"], two_sites["b"]
    start = date.today() - timedelta(days=30)
    pa = factories.enrolled(session, a, "CS20AT04", start, two_sites["coord_a"], number="A01")
    pb = factories.enrolled(session, b, "CS20AT04", start, two_sites["coord_b"], number="B01")
    _fill(session, pa, two_sites["coord_a"], "LAB",
          {"HGB": {"value": "120", "unit": "g/L"}})
    _fill(session, pa, two_sites["coord_a"], "AE",
          {"AETERM": "=HYPERLINK(\"http://evil\")", "AESTDTC": start.isoformat()})
    _fill(session, pb, two_sites["coord_b"], "LAB", {"HGB": {"value": "13", "unit": "g/dL"}})
    factories.user(session, "dm-a", Role.DATA_MANAGER, a)
    session.commit()
    return {"a": pa, "b": pb}


def _unzip(data: bytes) -> dict[str, list[dict]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: list(csv.DictReader(io.StringIO(archive.read(name).decode())))
                for name in archive.namelist()}


def test_a_data_manager_exports_their_sites_only(client, session, exported_world):
    login(client, "dm-a")
    resp = client.get("/exports/CS20AT04.csv.zip")
    assert resp.status_code == 200
    assert resp.mimetype == "application/zip"
    files = _unzip(resp.get_data())
    assert {"LAB.csv", "AE.csv", "visits.csv", "data_dictionary.csv"} <= set(files)
    lab = files["LAB.csv"]
    assert [r["SUBJID"] for r in lab] == ["SITEA-A01"]
    assert (lab[0]["HGB"], lab[0]["HGB_UNIT"], lab[0]["HGB_STD"]) == ("120", "g/L", "12")
    assert {r["SITEID"] for r in files["visits.csv"]} == {"SITEA"}
    assert all("SITEB" not in r["SUBJID"] for rows in files.values() for r in rows
               if "SUBJID" in r)


def test_formula_cells_are_neutralised(client, exported_world):
    login(client, "dm-a")
    files = _unzip(client.get("/exports/CS20AT04.csv.zip").get_data())
    assert files["AE.csv"][0]["AETERM"] == "'=HYPERLINK(\"http://evil\")"


def test_admin_exports_every_site_and_it_is_audited(client, session, exported_world):
    login(client, "root-admin")
    files = _unzip(client.get("/exports/CS20AT04.csv.zip").get_data())
    assert sorted(r["SUBJID"] for r in files["LAB.csv"]) == ["SITEA-A01", "SITEB-B01"]
    session.rollback()
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.actor.username == "root-admin" and "CSV of CS20AT04" in event.new_value


def test_the_dictionary_names_every_column(client, exported_world):
    login(client, "dm-a")
    files = _unzip(client.get("/exports/CS20AT04.csv.zip").get_data())
    listed = {(r["FORM"], r["COLUMN"]) for r in files["data_dictionary.csv"]}
    for name, rows in files.items():
        if name in ("visits.csv", "data_dictionary.csv") or not rows:
            continue
        form = name.removesuffix(".csv")
        item_columns = list(rows[0])[8:]
        assert all((form, c) in listed for c in item_columns), form


def test_visits_file_has_targets_windows_and_statuses(client, exported_world):
    login(client, "dm-a")
    visits = _unzip(client.get("/exports/CS20AT04.csv.zip").get_data())["visits.csv"]
    first = visits[0]
    assert first["TARGET"] and first["WINDOW_START"] <= first["TARGET"] <= first["WINDOW_END"]
    assert {v["STATUS"] for v in visits} <= {"scheduled", "upcoming", "due", "overdue",
                                             "missed", "completed", "completed_out_of_window",
                                             "not_done", "cancelled"}


def test_coordinators_cannot_export(client, exported_world):
    login(client, "coord-a")
    assert client.get("/exports/").status_code == 403
    assert client.get("/exports/CS20AT04.csv.zip").status_code == 403


def test_unknown_study_is_404(client, exported_world):
    login(client, "dm-a")
    assert client.get("/exports/NOPE.csv.zip").status_code == 404


def test_the_cli_writes_the_same_zip(app, exported_world, tmp_path):
    out = tmp_path / "cs.zip"
    result = app.test_cli_runner().invoke(args=["export", "csv", "CS20AT04", "--output",
                                                str(out), "--site", "SITEA"])
    assert result.exit_code == 0, result.output
    files = _unzip(out.read_bytes())
    assert [r["SUBJID"] for r in files["LAB.csv"]] == ["SITEA-A01"]


def test_the_cli_names_unknown_studies_and_sites(app, exported_world, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["export", "csv", "NOPE", "-o", str(tmp_path / "x.zip")])
    assert result.exit_code != 0 and "CS20AT04" in result.output
    result = runner.invoke(args=["export", "csv", "CS20AT04", "-o", str(tmp_path / "x.zip"),
                                 "--site", "NOWHERE"])
    assert result.exit_code != 0 and "NOWHERE" in result.output
