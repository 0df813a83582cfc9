"""CSV cells are never evaluated by a spreadsheet; plain numbers stay numbers."""

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from app.domain.csv_cells import FORMULA_START, is_number, neutralise, restore

NUMBERS = st.from_regex(r"\A[+-]?([0-9]{1,12}(\.[0-9]{0,6})?|\.[0-9]{1,6})([eE][+-]?[0-9]{1,3})?\Z")
FORMULA_LIKE = st.builds(lambda start, rest: start + rest,
                         st.sampled_from([*sorted(FORMULA_START), "'"]), st.text())
CELLS = st.one_of(st.text(), FORMULA_LIKE, NUMBERS)


@pytest.mark.parametrize(("value", "cell"), [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("'=1", "''=1"),  # an apostrophe of the data's own is kept through restore
    ("-1.5", "-1.5"),
    ("+3", "+3"),
    ("-2e-3", "-2e-3"),
    ("- 1", "'- 1"),  # not a plain number
    ("-1,5", "'-1,5"),
    ("-inf", "'-inf"),
    ("-\u0663", "'-\u0663"),  # only ASCII digits make a number
    ("headache", "headache"),
    ("", ""),
    ("1:80", "1:80"),
])
def test_examples(value, cell):
    assert neutralise(value) == cell
    assert restore(cell) == value


@given(CELLS)
@example("-")
@example("'")
@example("-1\n")
def test_no_cell_starts_a_formula_unless_it_is_a_plain_number(value):
    cell = neutralise(value)
    if cell and cell[0] in FORMULA_START:
        assert is_number(cell) and cell == value


@given(CELLS)
def test_restore_gives_back_every_value(value):
    assert restore(neutralise(value)) == value


@given(NUMBERS)
def test_plain_numbers_are_left_alone(value):
    assert is_number(value)
    assert neutralise(value) == value


@given(st.text().filter(lambda v: not v or v[0] not in FORMULA_START | {"'"}))
def test_anything_else_is_unchanged(value):
    assert neutralise(value) == value
