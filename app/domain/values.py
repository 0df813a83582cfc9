"""Turning what people type into typed item values, with messages that say what is wrong."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from app.domain.definitions import FormDef, Item, ItemType
from app.domain.rules import Context, Quantity, Result, evaluate
from app.domain.units import UnitError, convert, product, to_decimal

MAX_TEXT = 2000  # characters of a free-text answer
MAX_MAGNITUDE = Decimal(10) ** 14  # what a stored number (24 digits, 9 decimals) holds, with room
MAX_TITRE = 10**9  # far beyond any dilution series
MAX_NUMBER_TEXT = 40  # characters of a number as typed (the lab's ULN is kept as typed)
TITRE = re.compile(r"^\s*1\s*:\s*(\d+)\s*$")
TRUE_WORDS = {"true", "yes", "y", "1"}
FALSE_WORDS = {"false", "no", "n", "0"}


class ValueProblem(ValueError):
    """An entered value that cannot be accepted; the message is shown next to the field."""


def _blank(raw: Any) -> bool:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return True
    # a lab left empty still carries the unit the dropdown shows: it is blank all the same
    return isinstance(raw, Mapping) and set(raw) <= {"value", "unit", "uln"} and \
        all(_blank(raw.get(k)) for k in ("value", "uln"))


def parse(item: Item, raw: Any) -> Any:
    """The typed value of `raw` for `item`, None for blank; raises ValueProblem."""
    if _blank(raw):
        return None
    parser = _PARSERS[item.type]
    value = parser(item, raw)
    _check_storable(item, value)
    _check_hard_range(item, value)
    return value


def _number(raw: Any) -> Decimal:
    if isinstance(raw, bool | Mapping | list):
        raise ValueProblem("Enter a number.")
    if len(str(raw)) > MAX_NUMBER_TEXT:
        raise ValueProblem(f"Enter a number of at most {MAX_NUMBER_TEXT} characters.")
    try:
        return to_decimal(raw)
    except UnitError:
        raise ValueProblem("Enter a number.") from None


def _integer(item: Item, raw: Any) -> Decimal:
    number = _number(raw)
    if number != number.to_integral_value():
        raise ValueProblem("Enter a whole number.")
    return number


def _decimal(item: Item, raw: Any) -> Decimal:
    return _number(raw)


def _quantity(item: Item, raw: Any) -> Quantity:
    if not isinstance(raw, Mapping):
        raise ValueProblem(f"Enter a value and a unit ({', '.join(item.units)}).")
    unit = str(raw.get("unit") or "").strip()
    if unit not in item.units:
        shown = f"“{unit}” is not accepted" if unit else "Choose a unit"
        raise ValueProblem(f"{shown}; accepted units: {', '.join(item.units)}.")
    uln = raw.get("uln")
    return Quantity(_number(raw.get("value")), unit,
                    _number(uln) if item.uln and uln not in (None, "") else None)


def _date(item: Item, raw: Any) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise ValueProblem("Enter a date as YYYY-MM-DD.") from None


def _boolean(item: Item, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, Mapping | list):
        raise ValueProblem("Answer yes or no.")
    word = str(raw).strip().lower()
    if word in TRUE_WORDS | FALSE_WORDS:
        return word in TRUE_WORDS
    raise ValueProblem("Answer yes or no.")


def _choice(item: Item, raw: Any) -> str:
    if isinstance(raw, Mapping | list):
        raise ValueProblem(f"Choose one of: {', '.join(c for c, _ in item.codelist)}.")
    code = str(raw).strip()
    if code not in dict(item.codelist):
        raise ValueProblem(f"Choose one of: {', '.join(c for c, _ in item.codelist)}.")
    return code


def _titre(item: Item, raw: Any) -> int:
    match = TITRE.match(str(raw))
    if not match or not 0 < int(match.group(1)) <= MAX_TITRE:
        raise ValueProblem("Enter a titre as 1:N, e.g. 1:80.")
    return int(match.group(1))


def _text(item: Item, raw: Any) -> str:
    if isinstance(raw, Mapping | list):
        raise ValueProblem("Enter text.")
    text = str(raw).strip()
    if len(text) > MAX_TEXT:
        raise ValueProblem(f"Keep it to {MAX_TEXT} characters (this is {len(text)}).")
    return text


_PARSERS = {
    ItemType.INTEGER: _integer, ItemType.DECIMAL: _decimal, ItemType.QUANTITY: _quantity,
    ItemType.DATE: _date, ItemType.BOOLEAN: _boolean, ItemType.CHOICE: _choice,
    ItemType.TITRE: _titre, ItemType.TEXT: _text,
}


def canonical(item: Item, value: Any) -> Decimal | None:
    """A number in the protocol's unit, for range checks and storage."""
    if isinstance(value, Quantity):
        return convert(value.value, value.unit, item.unit or value.unit, item.code)
    if isinstance(value, Decimal):
        return value
    return None


def _check_storable(item: Item, value: Any) -> None:
    """Numbers beyond what any lab reports would not fit the stored column: refused here."""
    numbers = (canonical(item, value), getattr(value, "value", None), getattr(value, "uln", None))
    for number in (n for n in numbers if isinstance(n, Decimal)):
        if not number.is_finite() or abs(number) >= MAX_MAGNITUDE:
            raise ValueProblem("That number is too large to be a measurement.")


def _check_hard_range(item: Item, value: Any) -> None:
    number = canonical(item, value)
    if number is not None and item.hard and not item.hard.contains(number):
        raise ValueProblem(f"Outside the possible range {item.hard.describe(item.unit)}.")


def outside_soft_range(item: Item, value: Any) -> bool:
    number = canonical(item, value)
    return number is not None and item.soft is not None and not item.soft.contains(number)


def age_years(birth: date, at: date) -> int:
    """Completed years; someone born on 29 February turns a year older on 1 March."""
    return at.year - birth.year - ((at.month, at.day) < (birth.month, birth.day))


def with_derived(form: FormDef, values: Mapping[str, Any]) -> dict[str, Any]:
    """Values plus those derived from them, in definition order; a value given is kept."""
    result = dict(values)
    for item in form.items.values():
        if item.derived is None or result.get(item.code) is not None:
            continue
        kind, params = item.derived
        result[item.code] = DERIVE[kind](dict(params), result)
    return result


def _age(args: dict[str, str], values: Mapping[str, Any]) -> Decimal | None:
    birth, at = values.get(args["birth"]), values.get(args["at"])
    return Decimal(age_years(birth, at)) if birth and at else None


def _sum(args: dict[str, str], values: Mapping[str, Any]) -> Decimal | None:
    """SLEDAI-style: weights of the items answered yes; None until every item is answered."""
    answers = [values.get(code) for code in args]
    if any(a is None for a in answers):
        return None
    return sum((Decimal(w) for code, w in args.items() if values.get(code) is True), Decimal(0))


def _dose(args: dict[str, str], values: Mapping[str, Any]) -> Quantity | None:
    weight = values.get(args["weight"])
    if not isinstance(weight, Quantity):
        return None
    per_unit = f"{args['unit']}/kg"
    total = product(Decimal(args["per_kg"]), per_unit, weight.value, weight.unit, args["unit"])
    return Quantity(total, args["unit"])


def _percent_difference(args: dict[str, str], values: Mapping[str, Any]) -> Decimal | None:
    actual, planned = values.get(args["actual"]), values.get(args["planned"])
    if actual is None or planned is None:
        return None
    a = actual.value if isinstance(actual, Quantity) else Decimal(actual)
    p = planned.value if isinstance(planned, Quantity) else Decimal(planned)
    if p == 0:
        return None
    return ((a - p) / p * 100).quantize(Decimal("0.1"))


DERIVE = {"age_years": _age, "sum": _sum, "dose": _dose,
          "percent_difference": _percent_difference}


@dataclass(frozen=True)
class Entry:
    """A whole form's values after parsing: typed values and the problems found."""

    values: dict[str, Any]
    problems: dict[str, str]

    def context(self, form: FormDef) -> Context:
        items = form.items
        hidden = hidden_items(form, self.values)
        implausible = frozenset(code for code, value in self.values.items()
                                if code in items and outside_soft_range(items[code], value))
        return Context(self.values, hidden=hidden, implausible=implausible)


def hidden_items(form: FormDef, values: Mapping[str, Any]) -> frozenset[str]:
    ctx = Context(values)
    return frozenset(item.code for item in form.items.values()
                     if item.show_if is not None
                     and evaluate(item.show_if, ctx).result is Result.NOT_MET)


def parse_all(form: FormDef, raw: Mapping[str, Any]) -> Entry:
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for code, item in form.items.items():
        try:
            values[code] = parse(item, raw.get(code))
        except ValueProblem as exc:
            problems[code] = str(exc)
    return Entry(with_derived(form, values), problems)
