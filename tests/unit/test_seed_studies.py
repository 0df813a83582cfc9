"""The four seed studies: they load, and every numeric criterion is right at its threshold.

The cases in tests/data/eligibility/ were worked out by hand from the protocol documents;
they are the specification these tests hold the definitions and the engine to.
"""

import json
from pathlib import Path

import pytest
import yaml

from app.config import PROJECT_ROOT
from app.domain.eligibility import assess, check
from app.domain.values import parse_all
from app.screening.check import check_values
from app.studies import loader

CASES = PROJECT_ROOT / "tests" / "data" / "eligibility"
SEED_STUDIES = {"CS20AT04", "UCMSC-LN", "ALLOMSC-SLE", "CD19CART-SLE"}


@pytest.fixture(scope="module")
def protocols():
    found, errors = loader.load_all(PROJECT_ROOT / "schedules", PROJECT_ROOT / "forms")
    assert errors == []
    return {p.study.code: p for p in found}


def test_the_four_seed_studies_load(protocols):
    assert set(protocols) >= SEED_STUDIES
    cs = protocols["CS20AT04"]
    assert cs.study.registry_id == "NCT04835883"
    assert {s.code for s in cs.study.subgroups} == {"LN", "LC"}
    by_id = {c.id: c for c in cs.screening.criteria}
    assert by_id["I5-1"].subgroups == ("LC",)
    assert by_id["I5-2"].subgroups == ("LN",)
    assert by_id["E8"].subgroups == ("LN",)
    assert protocols["UCMSC-LN"].study.randomization.ratio == (("MSC", 1), ("MMF", 1))


def test_required_cdisc_item_codes_exist(protocols):
    codes = set().union(*(p.screening.items for p in protocols.values()))
    assert {"AGE", "SEX", "WEIGHT", "CREAT", "HGB", "PLAT", "NEUT", "LYM", "WBC", "BILI",
            "ALT", "AST", "PROTCRT", "C3", "C4"} <= codes


def _cases():
    for path in sorted(CASES.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text())
        for n, case in enumerate(spec["cases"]):
            yield pytest.param(spec["study"], case, id=f"{path.stem}-{n}-{case['criterion']}")


@pytest.mark.parametrize(("study", "case"), list(_cases()))
def test_boundary_case(protocols, study, case):
    form = protocols[study].screening
    entry = parse_all(form, case["values"])
    assert entry.problems == {}
    criterion = next(c for c in form.criteria if c.id == case["criterion"])
    result = assess(criterion, entry.context(form), case.get("subgroup"))
    assert result.result.value == case["expected"], f"{case.get('note')}: {result.reason}"


def _candidates():
    for path in sorted((CASES / "candidates").glob("*.json")):
        yield pytest.param(path, id=path.stem)


@pytest.mark.parametrize("path", list(_candidates()))
def test_whole_candidates(protocols, path):
    values = json.loads(path.read_text())
    subgroup = values.pop("_subgroup", None)
    study = _study_for(path.stem, protocols)
    verdict = check_values(protocols[study], values, subgroup)
    expected = not path.stem.endswith("ineligible")
    assert verdict.eligible is expected, [
        (c.id, c.result.value, c.reason) for c in verdict.criteria if c.disqualifies
        or c.result.value in ("missing", "needs_review")]


def _study_for(stem: str, protocols) -> str:
    for code, protocol in protocols.items():
        file_stem = Path(protocol.study.source).stem
        if stem.startswith(file_stem):
            return code
    raise AssertionError(f"no study for {stem}")


def test_every_criterion_has_text_and_every_judgement_item_a_label(protocols):
    for protocol in protocols.values():
        form = protocol.screening
        assert all(c.text for c in form.criteria)
        assert all(i.label and i.label != i.code for i in form.items.values() if i.judgement)
        assert check(form, parse_all(form, {}).context(form)).eligible is None
