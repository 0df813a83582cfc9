"""`flask studies load|list` and `flask eligibility check`."""

import json

import pytest

from tests.conftest import MINI, make_test_app


@pytest.fixture
def runner(database_url):
    app = make_test_app(database_url, SCHEDULES_DIR=str(MINI / "schedules"),
                        FORMS_DIR=str(MINI / "forms"))
    yield app.test_cli_runner()
    from tests.support.database import empty_all_tables

    empty_all_tables(app.extensions["db_engine"])
    app.extensions["db_engine"].dispose()


def test_load_is_idempotent_and_list_prints_json(runner):
    first = runner.invoke(args=["studies", "load"])
    assert first.exit_code == 0 and "MINI" in first.output and "new version" in first.output
    again = runner.invoke(args=["studies", "load"])
    assert "unchanged" in again.output
    listed = runner.invoke(args=["studies", "list", "--format", "json"])
    assert json.loads(listed.output) == [{"code": "MINI", "title": "A small study for the "
                                          "loader's tests", "registry_id": "NCT00000000",
                                          "version": 1}]


def test_broken_definition_names_file_and_field(database_url, tmp_path):
    import shutil

    shutil.copytree(MINI, tmp_path / "mini")
    form = tmp_path / "mini" / "forms" / "mini_screening.yaml"
    form.write_text(form.read_text().replace('op: ">", times_uln', 'op: "=>", times_uln'))
    app = make_test_app(database_url, SCHEDULES_DIR=str(tmp_path / "mini" / "schedules"),
                        FORMS_DIR=str(tmp_path / "mini" / "forms"))
    result = app.test_cli_runner().invoke(args=["studies", "load"])
    app.extensions["db_engine"].dispose()
    assert result.exit_code == 1
    assert "forms/mini_screening.yaml: criteria[5].rule.op: unknown operator '=>'" in result.output
    assert "nothing loaded" in result.output


def _check(runner, tmp_path, values, *extra):
    path = tmp_path / "values.json"
    path.write_text(json.dumps(values))
    return runner.invoke(args=["eligibility", "check", "MINI", *extra, "--input", str(path)])


CANDIDATE = {"SCRDT": "2026-05-01", "AGE": 45, "CREAT": {"value": 1.3, "unit": "mg/dL"},
             "ANATITER": "1:80", "CONSENT": True, "FLARE": False,
             "ALT": {"value": 30, "unit": "U/L", "uln": 40}}


def test_check_prints_the_verdict(runner, tmp_path):
    result = _check(runner, tmp_path, CANDIDATE, "--subgroup", "LN")
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.output)
    assert verdict["eligible"] is True
    i4 = next(c for c in verdict["criteria"] if c["id"] == "I4")
    assert i4 == {"id": "I4", "kind": "inclusion", "result": "met",
                  "reason": "CREAT 1.3 mg/dL = 114.9 umol/L > 106 umol/L", "items": ["CREAT"]}
    assert "I5" not in {c["id"] for c in verdict["criteria"]}  # the LC sub-group's


def test_check_without_subgroup_leaves_subgroup_criteria_open(runner, tmp_path):
    verdict = json.loads(_check(runner, tmp_path, CANDIDATE).output)
    assert verdict["eligible"] is None
    assert {c["id"]: c["result"] for c in verdict["criteria"]}["I4"] == "missing"


def test_check_at_the_threshold_in_the_protocol_unit(runner, tmp_path):
    values = {**CANDIDATE, "CREAT": {"value": 106, "unit": "umol/L"}}
    verdict = json.loads(_check(runner, tmp_path, values, "--subgroup", "LN").output)
    assert verdict["eligible"] is False
    assert verdict["criteria"][3]["reason"] == "CREAT 106 umol/L ≤ 106 umol/L"


def test_check_reports_bad_units(runner, tmp_path):
    values = {**CANDIDATE, "CREAT": {"value": 1.3, "unit": "mmol/mol"}, "NOPE": 1}
    result = _check(runner, tmp_path, values)
    assert result.exit_code == 1
    assert "CREAT: “mmol/mol” is not accepted; accepted units: umol/L, mg/dL." in result.output
    assert "NOPE: not an item of MINI_SCR" in result.output


def test_seed_candidates_through_the_cli(database_url):
    """The four seed studies' whole candidates, checked the way the README shows."""
    from app.config import PROJECT_ROOT

    app = make_test_app(database_url)
    runner = app.test_cli_runner()
    for path in sorted((PROJECT_ROOT / "tests/data/eligibility/candidates").glob("*.json")):
        values = json.loads(path.read_text())
        subgroup = values.pop("_subgroup", None)
        study = {"cs20at04": "CS20AT04", "ucmsc": "UCMSC-LN", "nct00698191": "ALLOMSC-SLE",
                 "cd19": "CD19CART-SLE"}[path.stem.split("_")[0]]
        args = ["eligibility", "check", study, "--input", "-"]
        if subgroup:
            args += ["--subgroup", subgroup]
        result = runner.invoke(args=args, input=json.dumps(values))
        assert result.exit_code == 0, (path.name, result.output)
        expected = not path.stem.endswith("ineligible")
        assert json.loads(result.output)["eligible"] is expected, path.name
    app.extensions["db_engine"].dispose()


def test_schedule_preview_formats_and_events(database_url):
    app = make_test_app(database_url)
    runner = app.test_cli_runner()
    as_json = runner.invoke(args=["schedule", "preview", "CS20AT04", "--start", "2026-03-02",
                                  "--format", "json"])
    visits = {v["code"]: v for v in json.loads(as_json.output)}
    assert visits["INF2_D3"] == {"code": "INF2_D3", "name": visits["INF2_D3"]["name"],
                                 "anchor": "INF2", "target": "2026-05-28",
                                 "window_start": "2026-05-27", "window_end": "2026-05-29"}
    moved = runner.invoke(args=["schedule", "preview", "CS20AT04", "--start", "2026-03-02",
                                "--event", "INF2=2026-05-27", "--format", "csv"])
    lines = moved.output.splitlines()
    assert lines[0] == "code,name,anchor,target,window_start,window_end"
    assert any(line.startswith("INF2_D3,") and "2026-05-30" in line for line in lines)
    table = runner.invoke(args=["schedule", "preview", "CS20AT04", "--start", "2026-03-02"])
    assert table.output.splitlines()[0].split()[:3] == ["code", "name", "anchor"]
    bad = runner.invoke(args=["schedule", "preview", "CS20AT04", "--start", "2026-03-02",
                              "--event", "INF9=2026-05-27"])
    assert bad.exit_code == 1 and "INF9 is not an anchor" in bad.output
    app.extensions["db_engine"].dispose()
