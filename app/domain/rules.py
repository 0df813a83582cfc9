"""Rules over item values, with three-valued results and reasons people can read.

A rule answers `met`, `not_met` or `missing`; a result that used a value outside its soft
range is flagged for review. Rules drive eligibility criteria and form branching alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Union

from app.domain.units import UnitError, convert, format_number


class Result(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    MISSING = "missing"
    NEEDS_REVIEW = "needs_review"


@dataclass(frozen=True)
class Quantity:
    """A lab value as entered: number, unit, and the lab's upper limit of normal if given."""

    value: Decimal
    unit: str
    uln: Decimal | None = None


@dataclass(frozen=True)
class Is:
    item: str
    value: Any


@dataclass(frozen=True)
class In:
    item: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Compare:
    item: str
    op: str
    value: Decimal | None = None  # a number, or a titre's dilution
    unit: str | None = None
    times_uln: Decimal | None = None
    titre: bool = False


@dataclass(frozen=True)
class Within:
    item: str
    days: int
    before: str


@dataclass(frozen=True)
class All:
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class AnyOf:
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Not:
    rule: Rule


@dataclass(frozen=True)
class Count:
    rules: tuple[Rule, ...]
    at_least: int


Rule = Union[Is, In, Compare, Within, All, AnyOf, Not, Count]  # noqa: UP007 - forward refs

OPS: dict[str, tuple[Callable[[Any, Any], bool], str, str]] = {
    "<": (lambda a, b: a < b, "<", "≥"),
    "<=": (lambda a, b: a <= b, "≤", ">"),
    ">": (lambda a, b: a > b, ">", "≤"),
    ">=": (lambda a, b: a >= b, "≥", "<"),
    "==": (lambda a, b: a == b, "=", "≠"),
    "!=": (lambda a, b: a != b, "≠", "="),
}


@dataclass(frozen=True)
class Outcome:
    result: Result
    reason: str
    items: tuple[str, ...]
    review: bool = False  # a value used is outside its soft range


@dataclass
class Context:
    """What a rule is evaluated against: values by item code, and what the items are."""

    values: Mapping[str, Any]
    hidden: frozenset[str] = frozenset()  # items switched off by branching
    implausible: frozenset[str] = frozenset()  # items outside their soft range


def referenced_items(rule: Rule) -> tuple[str, ...]:
    """Every item code a rule reads, in order of first use."""
    seen: dict[str, None] = {}
    for node in walk(rule):
        if isinstance(node, LEAVES):
            seen[node.item] = None
        if isinstance(node, Within):
            seen[node.before] = None
    return tuple(seen)


LEAVES = (Is, In, Compare, Within)


def walk(rule: Rule) -> Iterator[Rule]:
    """The rule and every rule inside it, depth first."""
    yield rule
    children = rule.rules if isinstance(rule, All | AnyOf | Count) else (
        (rule.rule,) if isinstance(rule, Not) else ())
    for child in children:
        yield from walk(child)


def evaluate(rule: Rule, ctx: Context) -> Outcome:
    return _EVALUATORS[type(rule)](rule, ctx)


def _leaf(ctx: Context, item: str, result: Result, reason: str) -> Outcome:
    return Outcome(result, reason, (item,), review=item in ctx.implausible)


def _absent(ctx: Context, item: str) -> Outcome | None:
    if item in ctx.hidden:
        return _leaf(ctx, item, Result.NOT_MET, f"{item} not applicable")
    if ctx.values.get(item) is None:
        return _leaf(ctx, item, Result.MISSING, f"{item} not entered")
    return None


def _met(ok: bool) -> Result:
    return Result.MET if ok else Result.NOT_MET


def _is(rule: Is, ctx: Context) -> Outcome:
    if absent := _absent(ctx, rule.item):
        return absent
    actual = ctx.values[rule.item]
    shown = {True: "yes", False: "no"}.get(actual, actual)
    return _leaf(ctx, rule.item, _met(actual == rule.value), f"{rule.item}: {shown}")


def _in(rule: In, ctx: Context) -> Outcome:
    if absent := _absent(ctx, rule.item):
        return absent
    actual = ctx.values[rule.item]
    ok = actual in rule.values
    where = "in" if ok else "not in"
    return _leaf(ctx, rule.item, _met(ok), f"{rule.item} {actual} {where} {', '.join(rule.values)}")


def _compare(rule: Compare, ctx: Context) -> Outcome:
    if absent := _absent(ctx, rule.item):
        return absent
    test, sign, negated = OPS[rule.op]
    actual = ctx.values[rule.item]
    try:
        lhs_value, lhs_text, rhs_value, rhs_text = _operands(rule, actual)
    except _Unanswerable as exc:
        return _leaf(ctx, rule.item, Result.MISSING, str(exc))
    ok = test(lhs_value, rhs_value)
    return _leaf(ctx, rule.item, _met(ok),
                 f"{rule.item} {lhs_text} {sign if ok else negated} {rhs_text}")


class _Unanswerable(Exception):
    pass


def _operands(rule: Compare, actual: Any) -> tuple[Decimal, str, Decimal, str]:
    if rule.titre:
        return Decimal(actual), f"1:{actual}", rule.value, f"1:{rule.value}"
    if isinstance(actual, Quantity):
        return _quantity_operands(rule, actual)
    number = Decimal(actual)
    return number, format_number(number, 2), rule.value, format_number(rule.value, 2)


def _quantity_operands(rule: Compare, q: Quantity) -> tuple[Decimal, str, Decimal, str]:
    entered = f"{format_number(q.value, 3)} {q.unit}"
    if rule.times_uln is not None:
        if q.uln is None:
            raise _Unanswerable(f"{rule.item} upper limit of normal not entered")
        limit = rule.times_uln * q.uln
        return q.value, entered, limit, \
            f"{format_number(rule.times_uln, 2)} × ULN ({format_number(limit, 2)} {q.unit})"
    target = rule.unit or q.unit
    try:
        value = convert(q.value, q.unit, target, rule.item)
    except UnitError as exc:
        raise _Unanswerable(f"{rule.item}: {exc}") from None
    shown = entered if target == q.unit else f"{entered} = {format_number(value)} {target}"
    return value, shown, rule.value, f"{format_number(rule.value, 3)} {target}"


def _within(rule: Within, ctx: Context) -> Outcome:
    for item in (rule.item, rule.before):
        if absent := _absent(ctx, item):
            return absent
    when: date = ctx.values[rule.item]
    ref: date = ctx.values[rule.before]
    days = (ref - when).days
    ok = 0 <= days <= rule.days
    relation = "within" if ok else "not within"
    return Outcome(_met(ok), f"{rule.item} {when.isoformat()} is {days} days before "
                   f"{rule.before}: {relation} {rule.days} days",
                   (rule.item, rule.before), review=rule.item in ctx.implausible)


def _combine(outcomes: list[Outcome], result: Result, shown: list[Outcome],
             sep: str = "; ") -> Outcome:
    items = tuple(dict.fromkeys(i for o in outcomes for i in o.items))
    review = any(o.review for o in shown) if result is not Result.MISSING else False
    return Outcome(result, sep.join(o.reason for o in shown), items, review)


def _all(rule: All, ctx: Context) -> Outcome:
    outs = [evaluate(r, ctx) for r in rule.rules]
    failed = [o for o in outs if o.result is Result.NOT_MET]
    if failed:
        return _combine(outs, Result.NOT_MET, failed)
    missing = [o for o in outs if o.result is Result.MISSING]
    if missing:
        return _combine(outs, Result.MISSING, missing)
    return _combine(outs, Result.MET, outs)


def _any(rule: AnyOf, ctx: Context) -> Outcome:
    outs = [evaluate(r, ctx) for r in rule.rules]
    met = [o for o in outs if o.result is Result.MET]
    if met:
        return _combine(outs, Result.MET, met)
    missing = [o for o in outs if o.result is Result.MISSING]
    if missing:
        return _combine(outs, Result.MISSING, missing)
    return _combine(outs, Result.NOT_MET, outs, " and ")


def _not(rule: Not, ctx: Context) -> Outcome:
    inner = evaluate(rule.rule, ctx)
    flipped = {Result.MET: Result.NOT_MET, Result.NOT_MET: Result.MET}.get(inner.result,
                                                                           inner.result)
    return Outcome(flipped, inner.reason, inner.items, inner.review)


def _count(rule: Count, ctx: Context) -> Outcome:
    outs = [evaluate(r, ctx) for r in rule.rules]
    met = [o for o in outs if o.result is Result.MET]
    unknown = sum(o.result is Result.MISSING for o in outs)
    if len(met) >= rule.at_least:
        result = Result.MET
    elif len(met) + unknown < rule.at_least:
        result = Result.NOT_MET
    else:
        result = Result.MISSING
    named = ", ".join(o.items[0] for o in met) or "none"
    summary = f"{len(met)} of {len(outs)} met (at least {rule.at_least} needed): {named}"
    if result is Result.MISSING:
        summary += f"; {unknown} not entered"
    items = tuple(dict.fromkeys(i for o in outs for i in o.items))
    return Outcome(result, summary, items, any(o.review for o in met))


_EVALUATORS: dict[type, Callable[[Any, Context], Outcome]] = {
    Is: _is, In: _in, Compare: _compare, Within: _within,
    All: _all, AnyOf: _any, Not: _not, Count: _count,
}
