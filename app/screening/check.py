"""Eligibility from a plain mapping of values (the CLI's JSON input)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.definitions import Protocol
from app.domain.eligibility import Verdict, check
from app.domain.values import parse_all


class InputProblem(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def check_values(protocol: Protocol, raw: Mapping[str, Any], subgroup: str | None) -> Verdict:
    form = protocol.screening
    codes = {s.code for s in protocol.study.subgroups}
    problems = [f"{code}: not an item of {form.code}" for code in raw if code not in form.items]
    if subgroup is not None and subgroup not in codes:
        problems.append(f"--subgroup {subgroup}: use one of {', '.join(sorted(codes)) or 'none'}")
    entry = parse_all(form, raw)
    problems += [f"{code}: {message}" for code, message in entry.problems.items()]
    if problems:
        raise InputProblem(problems)
    return check(form, entry.context(form), subgroup)
