"""The CSV layout: columns per item, cells as text, formulas neutralised, a full dictionary."""

from decimal import Decimal

from app.domain import tabular
from app.domain.definitions import FormDef, Item, ItemType, Range, Section

FORM = FormDef("LAB", "Labs", None, (Section("Chemistry", (
    Item("CREAT", "Creatinine", ItemType.QUANTITY, unit="umol/L", units=("umol/L", "mg/dL"),
         uln=True, hard=Range(Decimal(0), Decimal(3000))),
    Item("LBCOM", "Comment", ItemType.TEXT),
    Item("BRTHDTC", "Birth date", ItemType.DATE, identifying=True),
    Item("AGE", "Age", ItemType.INTEGER, derived=("age_years", (("birth", "BRTHDTC"),))),
)),))


def test_quantity_items_have_unit_uln_and_standard_columns():
    assert tabular.header(FORM)[len(tabular.ROW_KEYS):] == [
        "CREAT", "CREAT_UNIT", "CREAT_ULN", "CREAT_STD", "LBCOM"]


def test_a_row_keeps_what_was_entered_and_the_converted_value():
    values = {"CREAT": tabular.StoredValue("1.2", "mg/dL", "1.3", Decimal("106.080000000")),
              "LBCOM": tabular.StoredValue("=1+1")}
    row = tabular.row(("S", None, 2), tabular.columns(FORM), values)
    assert row == ["S", "", "2", "1.2", "mg/dL", "1.3", "106.08", "'=1+1"]


def test_identifiers_and_derived_items_are_listed_but_not_exported():
    rows = list(tabular.dictionary([FORM]))
    notes = {r[3]: r[-1] for r in rows if r[2] == ""}
    assert notes["BRTHDTC"] == "withheld: personal identifier"
    assert notes["AGE"].startswith("not a column: derived (age_years)")
    assert [r[2] for r in rows if r[2]] == tabular.header(FORM)[len(tabular.ROW_KEYS):]
    assert all(len(r) == len(tabular.DICTIONARY_HEADER) for r in rows)


def test_shown_values_read_back():
    from hypothesis import given
    from hypothesis import strategies as st

    from app.crf.models import shown_value, split_shown

    units = ("g/dL", "g/L", "10^9/L", "/uL")

    @given(value=st.text(min_size=1).filter(lambda v: "(ULN" not in v),
           unit=st.sampled_from((None, *units)),
           uln=st.one_of(st.none(), st.from_regex(r"[0-9]{1,4}(\.[0-9]{1,2})?", fullmatch=True)))
    def round_trip(value, unit, uln):
        if unit is None and any(value.endswith(f" {u}") for u in units):
            return  # a text value that happens to end in a unit name: not a quantity anyway
        if unit is not None and any(value.endswith(f" {u}") for u in units):
            return
        assert split_shown(shown_value(value, unit, uln), units) == (value, unit, uln)

    round_trip()
