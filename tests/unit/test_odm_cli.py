"""`flask studies import-odm FILE --into DIR` and `flask studies export-odm STUDY`."""

from dataclasses import replace

import pytest
from click.testing import CliRunner

from app.odm.cli import import_odm
from app.odm.importer import import_metadata
from app.odm.metadata import export_metadata
from app.studies.services import read_definitions
from tests.conftest import MINI, make_test_app


@pytest.fixture
def mini_file(tmp_path):
    (protocol,) = read_definitions(MINI / "schedules", MINI / "forms")
    path = tmp_path / "mini.odm.xml"
    path.write_bytes(export_metadata(protocol))
    return path


def _import(path, into, *options):
    return CliRunner().invoke(import_odm, [str(path), "--into", str(into), *options])


def test_import_writes_definitions_that_load(mini_file, tmp_path):
    into = tmp_path / "defs"
    result = _import(mini_file, into)
    assert result.exit_code == 0, result.output
    assert f"wrote {into / 'schedules' / 'mini.yaml'}" in result.output
    assert (into / "forms" / "mini_screening.yaml").read_text().startswith(
        "# Imported from mini.odm.xml on ")
    (back,) = read_definitions(into / "schedules", into / "forms")
    (mini,) = read_definitions(MINI / "schedules", MINI / "forms")
    assert replace(back, content_hash="") == replace(mini, content_hash="")


def test_existing_files_are_replaced_only_when_asked(mini_file, tmp_path):
    assert _import(mini_file, tmp_path).exit_code == 0
    again = _import(mini_file, tmp_path)
    assert again.exit_code == 1 and "schedules/mini.yaml" in again.output
    assert "nothing written (--overwrite replaces them)" in again.output
    assert _import(mini_file, tmp_path, "--overwrite").exit_code == 0


def test_definitions_the_loader_refuses_are_written_only_as_a_draft(mini_file, tmp_path):
    mini_file.write_bytes(mini_file.read_bytes().replace(
        b'Context="ecrf:screening-form" Name="MINI_SCR"',
        b'Context="ecrf:screening-form" Name="MINI_SCREENING"'))
    into = tmp_path / "defs"
    refused = _import(mini_file, into)
    assert refused.exit_code == 1 and not into.exists()
    assert "schedules/mini.yaml: screening_form: no form MINI_SCREENING in forms/" \
        in refused.output
    draft = _import(mini_file, into, "--draft")
    assert draft.exit_code == 0 and "warning: schedules/mini.yaml" in draft.output
    assert (into / "schedules" / "mini.yaml").exists()


def test_a_broken_file_is_named_and_nothing_written(mini_file, tmp_path):
    mini_file.write_bytes(mini_file.read_bytes().replace(b'DataType="integer"',
                                                         b'DataType="number"', 1))
    result = _import(mini_file, tmp_path / "d")
    assert result.exit_code == 1 and "cannot be imported; nothing written" in result.output
    assert "ItemDef[3] (OID IT.MINI_SCR.AGE): attribute DataType='number'" in result.output
    assert not (tmp_path / "d").exists()


@pytest.fixture
def app(database_url):
    app = make_test_app(database_url, SCHEDULES_DIR=str(MINI / "schedules"),
                        FORMS_DIR=str(MINI / "forms"))
    yield app
    from tests.support.database import empty_all_tables

    empty_all_tables(app.extensions["db_engine"])
    app.extensions["db_engine"].dispose()


def test_export_writes_the_loaded_version(app, tmp_path):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["studies", "load"]).exit_code == 0
    out = tmp_path / "mini.xml"
    result = runner.invoke(args=["studies", "export-odm", "MINI", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "MINI version 1" in result.output
    assert b'MetaDataVersion OID="MDV.MINI.v1"' in out.read_bytes()
    assert import_metadata(out.read_bytes())["schedules/mini.yaml"]["study"]["code"] == "MINI"
    printed = runner.invoke(args=["studies", "export-odm", "MINI"])
    assert printed.output.startswith("<?xml")
    missing = runner.invoke(args=["studies", "export-odm", "MINI", "--version", "7"])
    assert missing.exit_code == 1 and "no study 'MINI' version 7 is loaded" in missing.output
