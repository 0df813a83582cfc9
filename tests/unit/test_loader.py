"""The loader names file, path and field for every error, and versions by content."""

import copy
import shutil
from pathlib import Path

import pytest
import yaml

from app.studies import loader

MINI = Path(__file__).parent.parent / "data" / "mini"


@pytest.fixture
def mini(tmp_path):
    shutil.copytree(MINI, tmp_path / "mini")
    return tmp_path / "mini"


def _docs():
    sets, errors = loader.discover(MINI / "schedules", MINI / "forms")
    assert errors == []
    return sets[0]


def _errors(docs) -> list[str]:
    with pytest.raises(loader.DefinitionInvalid) as exc:
        loader.build(docs)
    return [str(e) for e in exc.value.errors]


def test_mini_study_loads():
    protocol = loader.build(_docs())
    assert protocol.study.code == "MINI"
    assert [c.id for c in protocol.screening.criteria] == ["I1", "I2", "I3", "I4", "I5", "E1", "E2"]
    assert protocol.screening.items["CREAT"].units == ("umol/L", "mg/dL")


def test_hash_follows_content():
    docs = _docs()
    same = loader.build(copy.deepcopy(docs)).content_hash
    assert loader.build(docs).content_hash == same
    docs["forms/mini_screening.yaml"]["criteria"][0]["text"] = "Age 18 to 65"
    assert loader.build(docs).content_hash != same


def test_unknown_operator_names_file_path_and_field():
    docs = _docs()
    docs["forms/mini_screening.yaml"]["criteria"][3]["rule"]["op"] = "=>"
    assert _errors(docs) == [
        "forms/mini_screening.yaml: criteria[3].rule.op: unknown operator '=>' "
        "(use one of <, <=, >, >=, ==, !=)"]


def test_every_error_is_reported_at_once():
    docs = _docs()
    form = docs["forms/mini_screening.yaml"]
    form["sections"][1]["items"][0]["units"] = ["umol/L", "furlongs"]
    form["sections"][1]["items"][1]["type"] = "number"
    form["criteria"][0]["rule"]["all"][0]["item"] = "AGEE"
    docs["schedules/mini.yaml"]["randomization"]["block_sizes"] = [3]
    errors = _errors(docs)
    assert "forms/mini_screening.yaml: sections[1].items[0].units[1]: unknown unit 'furlongs'" \
        in errors
    assert any(e.startswith("forms/mini_screening.yaml: sections[1].items[1].type: unknown type")
               for e in errors)
    assert "forms/mini_screening.yaml: criteria[0].rule.item: unknown item AGEE" in errors
    assert "schedules/mini.yaml: randomization.block_sizes[0]: 3 is not a multiple of 2" in errors


def test_incompatible_threshold_unit():
    docs = _docs()
    docs["forms/mini_screening.yaml"]["criteria"][3]["rule"]["unit"] = "kg"
    assert _errors(docs) == [
        "forms/mini_screening.yaml: criteria[3].rule.unit: umol/L cannot be converted to kg"]


def test_unknown_subgroup_and_missing_form():
    docs = _docs()
    docs["forms/mini_screening.yaml"]["criteria"][3]["subgroups"] = ["XX"]
    assert _errors(docs) == [
        "forms/mini_screening.yaml: criteria[3].subgroups: XX is not a sub-group of MINI"]
    docs = _docs()
    docs["schedules/mini.yaml"]["screening_form"] = "NOPE"
    assert "schedules/mini.yaml: screening_form: no form NOPE in forms/" in _errors(docs)


def test_missing_required_field_and_unknown_field():
    docs = _docs()
    del docs["schedules/mini.yaml"]["study"]["title"]
    docs["schedules/mini.yaml"]["study"]["sponsor"] = "X"
    errors = _errors(docs)
    assert "schedules/mini.yaml: study.title: required field is missing" in errors
    assert any(e.startswith("schedules/mini.yaml: study.sponsor: unknown field") for e in errors)


def test_broken_yaml_names_the_line(mini):
    path = mini / "forms" / "mini_screening.yaml"
    path.write_text(path.read_text() + "\n  - {unclosed: [\n")
    _protocols, errors = loader.load_all(mini / "schedules", mini / "forms")
    assert errors and errors[0].file == "forms/mini_screening.yaml"
    assert errors[0].path.startswith("line ")


def test_loads_from_files(mini):
    protocols, errors = loader.load_all(mini / "schedules", mini / "forms")
    assert errors == [] and len(protocols) == 1
    data = yaml.safe_load((mini / "schedules" / "mini.yaml").read_text())
    assert protocols[0].documents["schedules/mini.yaml"] == data
