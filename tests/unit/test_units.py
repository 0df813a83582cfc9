from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.units import UnitError, convert, measure

D = Decimal


@pytest.mark.parametrize(("value", "unit", "target", "analyte", "expected"), [
    ("1", "mg/dL", "umol/L", "CREAT", "88.4016973125"),  # 10 000 / 113.12
    ("1.3", "mg/dL", "umol/L", "CREAT", "114.922206506"),
    ("106", "umol/L", "mg/dL", "CREAT", "1.199072"),
    ("1", "mg/dL", "umol/L", "BILI", "17.1039578558"),  # 10 000 / 584.66
    ("14", "mg/L", "umol/L", "BILI", "23.9455409982"),
    ("113.12", "mg/mmol", "mg/mg", "PROTCRT", "1"),
    ("100", "g/L", "g/dL", None, "10"),
    ("100", "10^3/uL", "/uL", None, "100000"),
    ("1.5", "10^9/L", "/mm3", None, "1500"),
    ("1000", "/mm3", "/uL", None, "1000"),
    ("2.2046226218", "lb", "kg", None, "1"),
    ("1", "g/24h", "mg/24h", None, "1000"),
])
def test_conversions(value, unit, target, analyte, expected):
    assert convert(D(value), unit, target, analyte) == pytest.approx(D(expected), rel=D("1e-9"))


def test_same_unit_is_returned_exactly():
    assert convert(D("106"), "umol/L", "umol/L", "CREAT") == D("106")


def test_molar_conversion_needs_the_analyte():
    with pytest.raises(UnitError, match="cannot be converted"):
        convert(D(1), "mg/dL", "umol/L")


def test_incompatible_and_unknown_units():
    with pytest.raises(UnitError, match="cannot be converted"):
        convert(D(1), "kg", "/uL")
    with pytest.raises(UnitError, match="unknown unit"):
        convert(D(1), "furlongs", "kg")


def test_measure_names_the_accepted_units():
    with pytest.raises(UnitError, match="use one of: umol/L, mg/dL"):
        measure("1.3", "mmol/L", ("umol/L", "mg/dL"), "umol/L", "CREAT")
    m = measure("1.3", "mg/dL", ("umol/L", "mg/dL"), "umol/L", "CREAT")
    assert (m.value, m.unit, m.canonical_unit) == (D("1.3"), "mg/dL", "umol/L")


cell_units = st.sampled_from(["/uL", "/mm3", "10^3/uL", "10^9/L"])
positive = st.decimals(min_value=D("0.001"), max_value=D("1000000"), places=3)


@given(positive, cell_units, cell_units)
def test_cell_count_round_trip(value, a, b):
    back = convert(convert(value, a, b), b, a)
    assert back == pytest.approx(value, rel=D("1e-9"))


@given(positive)
def test_creatinine_round_trip(value):
    back = convert(convert(value, "mg/dL", "umol/L", "CREAT"), "umol/L", "mg/dL", "CREAT")
    assert back == pytest.approx(value, rel=D("1e-9"))


_PAIRS = [(unit, target, analyte) for unit in ("mg/dL", "umol/L", "mg/L", "g/L", "g/dL",
                                               "mg/mmol", "mg/mg", "10^3/uL", "/uL", "/mm3",
                                               "10^9/L", "lb", "kg")
          for target in ("mg/dL", "umol/L", "g/dL", "mg/mg", "/uL", "10^9/L", "kg")
          for analyte in (None, "CREAT", "BILI")]


def _through_pint(value: Decimal, unit: str, target: str, analyte: str | None) -> Decimal:
    from app.domain import units

    return units._round(units._magnitude(value, unit, target, analyte))


@given(st.sampled_from(_PAIRS), st.decimals(min_value=0, max_value=100_000, places=3))
def test_the_cached_factor_converts_as_pint_does(pair, value):
    """A conversion multiplies by a factor Pint computed once: the same digits as Pint's
    conversion of the value itself, rounded alike."""
    unit, target, analyte = pair
    try:
        expected = _through_pint(value, unit, target, analyte)
    except UnitError:
        with pytest.raises(UnitError):
            convert(value, unit, target, analyte)
        return
    assert convert(value, unit, target, analyte) == expected
