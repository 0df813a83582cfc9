"""Parsing what people type: blanks, units, titres, dates, derived values."""

from datetime import date
from decimal import Decimal

import pytest

from app.domain.definitions import Item, ItemType, Range
from app.domain.rules import Quantity
from app.domain.values import ValueProblem, age_years, parse

CREAT = Item("CREAT", "Creatinine", ItemType.QUANTITY, unit="umol/L", units=("umol/L", "mg/dL"),
             hard=Range(Decimal(1), Decimal(3000)))


def test_a_blank_lab_with_its_unit_is_blank():
    assert parse(CREAT, {"value": "", "unit": "mg/dL"}) is None
    assert parse(CREAT, {"value": "  ", "unit": "umol/L", "uln": ""}) is None


def test_quantity_problems_name_the_accepted_units():
    with pytest.raises(ValueProblem, match="accepted units: umol/L, mg/dL"):
        parse(CREAT, {"value": "1.3", "unit": "mmol/L"})
    with pytest.raises(ValueProblem, match="Enter a number"):
        parse(CREAT, {"value": "high", "unit": "mg/dL"})
    with pytest.raises(ValueProblem, match="possible range"):
        parse(CREAT, {"value": "40", "unit": "mg/dL"})  # 3536 umol/L
    assert parse(CREAT, {"value": "1.3", "unit": "mg/dL"}) == Quantity(Decimal("1.3"), "mg/dL")


def test_titres_and_dates():
    titre = Item("ANA", "ANA", ItemType.TITRE)
    assert parse(titre, " 1 : 160 ") == 160
    with pytest.raises(ValueProblem, match="1:N"):
        parse(titre, "160")
    when = Item("D", "D", ItemType.DATE)
    assert parse(when, "2026-03-02") == date(2026, 3, 2)
    with pytest.raises(ValueProblem, match="YYYY-MM-DD"):
        parse(when, "02/03/2026")


def test_age_in_completed_years():
    assert age_years(date(1980, 5, 2), date(2026, 5, 1)) == 45
    assert age_years(date(1980, 5, 2), date(2026, 5, 2)) == 46
    assert age_years(date(2000, 2, 29), date(2026, 2, 28)) == 25
    assert age_years(date(2000, 2, 29), date(2026, 3, 1)) == 26
