"""Every generated date of every visit of every seed study, and re-anchoring, against the
plans worked out by hand in tests/data/schedules/."""

from datetime import date

import pytest
import yaml

from app.config import PROJECT_ROOT
from app.domain.schedule import plan, reanchor
from app.studies import loader

EXPECTED = PROJECT_ROOT / "tests" / "data" / "schedules"
FIELDS = ("code", "anchor", "target", "window_start", "window_end")


@pytest.fixture(scope="module")
def protocols():
    found, errors = loader.load_all(PROJECT_ROOT / "schedules", PROJECT_ROOT / "forms")
    assert errors == []
    return {p.study.code: p for p in found}


def _specs():
    for path in sorted(EXPECTED.glob("*.yaml")):
        yield pytest.param(yaml.safe_load(path.read_text()), id=path.stem)


def _row(visit) -> dict:
    d = visit.as_dict()
    return {k: d[k] if k in ("code", "anchor") else date.fromisoformat(d[k]) for k in FIELDS}


def _expected(rows) -> list[dict]:
    return [{k: r[k] for k in FIELDS} for r in rows]


@pytest.mark.parametrize("spec", list(_specs()))
def test_every_visit_date(protocols, spec):
    schedule = protocols[spec["study"]].study.schedule
    got = [_row(v) for v in plan(schedule, spec["start"], spec.get("events") or {})]
    assert got == _expected(spec["visits"])


@pytest.mark.parametrize("spec", list(_specs()))
def test_reanchored_plan(protocols, spec):
    schedule = protocols[spec["study"]].study.schedule
    base = spec.get("events") or {}
    moved_events = spec["reanchored"]["events"]
    (event, new_date), = ((k, v) for k, v in moved_events.items() if base.get(k) != v)
    moves = reanchor(schedule, spec["start"], base, event, new_date, done=set())
    got = sorted((_row(m.new) for m in moves), key=lambda r: (r["target"], r["code"]))
    want = sorted(_expected(spec["reanchored"]["changed"]), key=lambda r: (r["target"], r["code"]))
    assert got == want


def test_windows_we_chose_are_marked(protocols):
    cs = protocols["CS20AT04"].study.schedule
    assert cs.visit("INF1_W4").window_ours
    assert not cs.visit("INF1").window_ours
    assert {v.code for v in cs.visits if v.safety} == {"FU1Y", "FU3Y", "FU5Y"}
