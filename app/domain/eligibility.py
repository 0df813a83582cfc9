"""Eligibility: each criterion met, not met, missing or needing review, and the verdict."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.definitions import Criterion, CriterionKind, FormDef
from app.domain.rules import Context, Outcome, Result, evaluate


@dataclass(frozen=True)
class CriterionResult:
    id: str
    kind: CriterionKind
    text: str
    result: Result
    reason: str
    items: tuple[str, ...]

    @property
    def disqualifies(self) -> bool:
        """An inclusion not met, or an exclusion that applies."""
        bad = Result.NOT_MET if self.kind is CriterionKind.INCLUSION else Result.MET
        return self.result is bad

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind.value, "result": self.result.value,
                "reason": self.reason, "items": list(self.items)}


@dataclass(frozen=True)
class Verdict:
    eligible: bool | None
    criteria: tuple[CriterionResult, ...]

    @property
    def failures(self) -> tuple[CriterionResult, ...]:
        return tuple(c for c in self.criteria if c.disqualifies)

    def as_dict(self) -> dict:
        return {"eligible": self.eligible, "criteria": [c.as_dict() for c in self.criteria]}


def assess(criterion: Criterion, ctx: Context, subgroup: str | None) -> CriterionResult | None:
    applies = criterion.applies_to(subgroup)
    if applies is False:
        return None
    if applies is None:
        outcome = Outcome(Result.MISSING, "choose the sub-group first", ())
    else:
        outcome = evaluate(criterion.rule, ctx)
    result = outcome.result
    if outcome.review and result in (Result.MET, Result.NOT_MET):
        result = Result.NEEDS_REVIEW
        outcome = Outcome(result, outcome.reason + " (a value is outside its plausible range: "
                          "check it and its unit)", outcome.items)
    return CriterionResult(criterion.id, criterion.kind, criterion.text, result, outcome.reason,
                           outcome.items)


def check(form: FormDef, ctx: Context, subgroup: str | None = None) -> Verdict:
    results = tuple(r for c in form.criteria if (r := assess(c, ctx, subgroup)) is not None)
    if any(r.disqualifies for r in results):
        eligible: bool | None = False
    elif all(r.result in (Result.MET, Result.NOT_MET) for r in results):
        eligible = True
    else:
        eligible = None
    return Verdict(eligible, results)
