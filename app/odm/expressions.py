"""Rules and derivations back into our definition format, and in words for ODM Descriptions.

The export's FormalExpressions hold the rule as written in forms/ (YAML flow); the
ConditionDef/MethodDef Description says the same in words for people reading the ODM file.
"""

from __future__ import annotations

from app.domain import rules as r
from app.odm.vocabulary import plain_number

SIGNS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"}


def rule_data(rule: r.Rule) -> dict:
    """The rule as the loader reads it (docs/definitions.md, Rules)."""
    match rule:
        case r.Is(item, value):
            return {"item": item, "is": value}
        case r.In(item, values):
            return {"item": item, "in": list(values)}
        case r.Compare():
            return _compare_data(rule)
        case r.Within(item, days, before):
            return {"item": item, "within_days": days, "before": before}
        case r.All(rules):
            return {"all": [rule_data(x) for x in rules]}
        case r.AnyOf(rules):
            return {"any": [rule_data(x) for x in rules]}
        case r.Not(inner):
            return {"not": rule_data(inner)}
        case r.Count(rules, at_least):
            return {"count": [rule_data(x) for x in rules], "at_least": at_least}
    raise TypeError(f"not a rule: {rule!r}")


def _compare_data(rule: r.Compare) -> dict:
    out: dict = {"item": rule.item, "op": rule.op}
    if rule.times_uln is not None:
        out["times_uln"] = plain_number(rule.times_uln)
    elif rule.titre:
        out["value"] = f"1:{plain_number(rule.value)}"
    else:
        out["value"] = plain_number(rule.value)
        if rule.unit:
            out["unit"] = rule.unit
    return out


def describe(rule: r.Rule) -> str:
    """`SEX is one of F`, `(CREAT > 106 umol/L and URBC > 10 /HPF)`, …"""
    match rule:
        case r.Is(item, value):
            return f"{item} is {({True: 'yes', False: 'no'}).get(value, value)}"
        case r.In(item, values):
            return f"{item} is one of {', '.join(values)}"
        case r.Compare():
            return f"{rule.item} {SIGNS[rule.op]} {_compared_to(rule)}"
        case r.Within(item, days, before):
            return f"{item} within {days} days up to {before}"
        case r.All(rules) | r.AnyOf(rules):
            joiner = " and " if isinstance(rule, r.All) else " or "
            return f"({joiner.join(describe(x) for x in rules)})"
        case r.Not(inner):
            return f"not {describe(inner)}"
        case r.Count(rules, at_least):
            return f"at least {at_least} of ({'; '.join(describe(x) for x in rules)})"
    raise TypeError(f"not a rule: {rule!r}")


def _compared_to(rule: r.Compare) -> str:
    if rule.times_uln is not None:
        return f"{plain_number(rule.times_uln)} × ULN"
    if rule.titre:
        return f"1:{plain_number(rule.value)}"
    return f"{plain_number(rule.value)}{f' {rule.unit}' if rule.unit else ''}"


def derivation_data(derived: tuple[str, tuple[tuple[str, str], ...]]) -> dict:
    """Item.derived as written in forms/; sum weights are whole numbers again."""
    kind, params = derived
    values = {k: int(v) if kind == "sum" else v for k, v in params}
    return {kind: values}


def describe_derivation(derived: tuple[str, tuple[tuple[str, str], ...]]) -> str:
    kind, params = derived
    p = dict(params)
    if kind == "age_years":
        return f"Age in whole years from {p['birth']} to {p['at']}"
    if kind == "dose":
        return f"Planned dose: {p['per_kg']} {p['unit']}/kg × {p['weight']} (kg)"
    if kind == "percent_difference":
        return f"({p['actual']} − {p['planned']}) / {p['planned']} × 100"
    if kind == "sum":
        weights = ", ".join(f"{code} {weight}" for code, weight in params)
        return f"Sum of the weights of the items answered yes: {weights}"
    return f"{kind}: {p}"
