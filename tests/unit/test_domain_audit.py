import hashlib
from datetime import date
from decimal import Decimal
from enum import Enum

from hypothesis import given
from hypothesis import strategies as st

from app.domain.audit import GENESIS, FieldChange, chain_hash, chain_tail, diff, render

values = st.one_of(st.none(), st.integers(), st.text(max_size=5), st.booleans())
states = st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), values)


class Colour(Enum):
    RED = "red"


def test_creation_lists_every_field():
    assert diff({}, {"code": "A", "name": None}) == [FieldChange("code", None, "A")]


def test_change_and_rendering():
    before = {"active": True, "when": date(2026, 1, 2), "dose": Decimal("2.0")}
    after = {"active": False, "when": date(2026, 1, 3), "dose": Decimal("2.0")}
    assert diff(before, after) == [
        FieldChange("active", "true", "false"),
        FieldChange("when", "2026-01-02", "2026-01-03"),
    ]
    assert render(Colour.RED) == "red"
    assert render(1.5) == "1.5"


@given(states)
def test_no_change_no_rows(state):
    assert diff(state, dict(state)) == []


@given(states, states)
def test_changes_lead_from_before_to_after(before, after):
    changes = diff(before, after)
    assert [c.field for c in changes] == sorted(c.field for c in changes)
    for change in changes:
        assert change.old == render(before.get(change.field))
        assert change.new == render(after.get(change.field))
    unchanged = (set(before) | set(after)) - {c.field for c in changes}
    assert all(render(before.get(f)) == render(after.get(f)) for f in unchanged)


@given(st.lists(values, min_size=1, max_size=6), st.sampled_from([GENESIS, "ab" * 32]))
def test_the_tail_is_what_the_hash_covers_after_the_previous_hash(fields, previous):
    payload = f'["{previous}",{chain_tail(fields)}'
    assert hashlib.sha256(payload.encode()).hexdigest() == chain_hash(previous, fields)
