"""Units of measure: one Pint registry for the whole application.

Definitions name units the way lab reports print them (`10^3/uL`, `/mm3`, `mg/dL`); each
name maps to one Pint expression here. Conversions between mass and amount of substance
need the analyte's molar mass, declared once per item code. Arithmetic is Decimal, so a
value entered in the protocol's own unit is compared exactly as typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

import pint

REGISTRY = pint.UnitRegistry(non_int_type=Decimal)
for _definition in (
    "per_uL = 1 / microliter",
    "per_mm3 = 1 / millimeter ** 3",
    "thousand_per_uL = 1000 / microliter",
    "giga_per_L = 1e9 / liter",
    "tera_per_L = 1e12 / liter",
    "high_power_field = [microscopy_field] = HPF",
    "cells = [cell_count]",
    "per_24h = 1 / day",
):
    REGISTRY.define(_definition)

# Name as written in definitions and forms -> Pint expression.
UNITS: dict[str, str] = {
    "mg/dL": "mg/dL", "mg/L": "mg/L", "g/dL": "g/dL", "g/L": "g/L",
    "umol/L": "umol/L", "mmol/L": "mmol/L",
    "mg/mg": "mg/mg", "g/g": "g/g", "mg/mmol": "mg/mmol",
    "/uL": "per_uL", "/mm3": "per_mm3", "10^3/uL": "thousand_per_uL",
    "10^9/L": "giga_per_L", "10^12/L": "tera_per_L",
    "kg": "kg", "lb": "lb", "g": "g", "cm": "cm", "m": "m",
    "U/L": "U/L", "mL/min": "mL/min", "g/24h": "g * per_24h", "mg/24h": "mg * per_24h",
    "%": "percent", "/HPF": "1 / HPF", "mmHg": "mmHg", "bpm": "1 / minute",
    "degC": "degC", "cells": "cells", "cells/kg": "cells / kg",
}

# Analytes whose conversions cross mass and amount of substance (g/mol).
MOLAR_MASS: dict[str, Decimal] = {
    "CREAT": Decimal("113.12"),  # creatinine
    "BILI": Decimal("584.66"),  # bilirubin
    "PROTCRT": Decimal("113.12"),  # protein per creatinine: the creatinine is molar
}

SIGNIFICANT = 12  # converted values are rounded here, so 100 g/L is exactly 10 g/dL


class UnitError(ValueError):
    """An unknown unit, or one that cannot be converted to the protocol's unit."""


@dataclass(frozen=True)
class Measurement:
    """A value as entered, and the same value in the protocol's unit."""

    value: Decimal
    unit: str
    canonical_value: Decimal
    canonical_unit: str


def is_known(unit: str) -> bool:
    return unit in UNITS


def _quantity(value: Decimal, unit: str) -> pint.Quantity:
    if unit not in UNITS:
        raise UnitError(f"unknown unit {unit!r}")
    return REGISTRY.Quantity(value, _parsed(UNITS[unit]))


@cache
def _parsed(expression: str) -> pint.Unit:
    """Parsing is most of a conversion's cost, and there are a few dozen units: once each."""
    return REGISTRY.parse_units(expression)


def _round(value: Decimal) -> Decimal:
    if value == 0:
        return Decimal(0)
    exponent = value.adjusted() - SIGNIFICANT + 1
    return value.quantize(Decimal(1).scaleb(exponent)).normalize()


def convert(value: Decimal | int | float | str, unit: str, target: str,
            analyte: str | None = None) -> Decimal:
    """`value` in `unit`, expressed in `target`. Same unit: returned unchanged."""
    value = to_decimal(value)
    if unit == target:
        return value
    factor = _factor(unit, target, analyte)
    if factor is None:  # a unit with an offset: through Pint every time
        return _round(_magnitude(value, unit, target, analyte))
    return _round(value * factor)


@cache
def _factor(unit: str, target: str, analyte: str | None) -> Decimal | None:
    """How many `target` one `unit` is, when converting is multiplying (no offset), else
    None. A save converts a few dozen values; through Pint each costs tens of microseconds.
    The factor is Pint's own, unrounded, so products of short decimals stay exact."""
    if _magnitude(Decimal(0), unit, target, analyte) != 0:
        return None
    return _magnitude(Decimal(1), unit, target, analyte)


def _magnitude(value: Decimal, unit: str, target: str, analyte: str | None) -> Decimal:
    if target not in UNITS:
        raise UnitError(f"unknown unit {target!r}")
    wanted = _quantity(Decimal(1), target)
    for candidate in _molar_variants(_quantity(value, unit), analyte):
        if candidate.dimensionality == wanted.dimensionality:
            return Decimal(candidate.to(wanted.units).magnitude)
    raise UnitError(f"{unit} cannot be converted to {target}")


def _molar_variants(quantity: pint.Quantity, analyte: str | None) -> list[pint.Quantity]:
    variants = [quantity]
    if analyte in MOLAR_MASS:
        mw = REGISTRY.Quantity(MOLAR_MASS[analyte], "g/mol")
        variants += [quantity / mw, quantity * mw]
    return variants


def product(value: Decimal, unit: str, by_value: Decimal, by_unit: str, target: str) -> Decimal:
    """(value unit) × (by_value by_unit) in `target`, e.g. 2.0e6 cells/kg × 58 kg in cells."""
    result = _quantity(to_decimal(value), unit) * _quantity(to_decimal(by_value), by_unit)
    try:
        return _round(Decimal(result.to(_parsed(UNITS[target])).magnitude))
    except (pint.DimensionalityError, KeyError):
        raise UnitError(f"{unit} × {by_unit} cannot be expressed in {target}") from None


def measure(value: Decimal | int | float | str, unit: str, accepted: tuple[str, ...],
            canonical: str, analyte: str | None = None) -> Measurement:
    """Check an entered value's unit against the accepted ones and convert it."""
    if unit not in accepted:
        raise UnitError(f"unit {unit!r} is not accepted here; use one of: {', '.join(accepted)}")
    decimal_value = to_decimal(value)
    return Measurement(decimal_value, unit, convert(decimal_value, unit, canonical, analyte),
                       canonical)


def to_decimal(value: Decimal | int | float | str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise UnitError(f"{value!r} is not a number") from None
    if not result.is_finite():
        raise UnitError(f"{value!r} is not a number")
    return result


def format_number(value: Decimal, places: int = 1) -> str:
    """For reasons shown to people: 114.92 -> '114.9', 106 -> '106'."""
    rounded = value.quantize(Decimal(1).scaleb(-places)) if value.adjusted() < 12 else value
    return format(rounded.normalize(), "f")
