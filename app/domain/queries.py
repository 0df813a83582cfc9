"""Data clarification queries: which step may follow which, who may take it, what it says.

A query is open until someone at the site answers it (in words, or by correcting the value
with a reason), then answered until the monitor closes it; the monitor may reopen an answered
or closed query. Closing an open query directly is allowed (the monitor withdraws it).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from app.domain.access import Permission
from app.domain.definitions import Range


class QueryStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class QueryAction(StrEnum):
    RAISE = "raise"  # a monitor asks about an item
    AUTO = "auto"  # a soft range check asks
    ANSWER = "answer"  # the site answers in words
    CORRECT = "correct"  # the site changes the value (with a reason) through the CRF
    CLOSE = "close"
    REOPEN = "reopen"


class TransitionRefused(ValueError):
    """The step does not apply to a query in this status; the message says why."""


TRANSITIONS: dict[tuple[QueryStatus, QueryAction], QueryStatus] = {
    (QueryStatus.OPEN, QueryAction.ANSWER): QueryStatus.ANSWERED,
    (QueryStatus.OPEN, QueryAction.CORRECT): QueryStatus.ANSWERED,
    (QueryStatus.OPEN, QueryAction.CLOSE): QueryStatus.CLOSED,
    (QueryStatus.ANSWERED, QueryAction.CLOSE): QueryStatus.CLOSED,
    (QueryStatus.ANSWERED, QueryAction.REOPEN): QueryStatus.OPEN,
    (QueryStatus.CLOSED, QueryAction.REOPEN): QueryStatus.OPEN,
}

# Who may take each step (the system's automatic query needs nobody).
PERMISSION_FOR: dict[QueryAction, Permission] = {
    QueryAction.RAISE: Permission.RAISE_QUERY,
    QueryAction.ANSWER: Permission.ENTER_DATA,
    QueryAction.CORRECT: Permission.ENTER_DATA,
    QueryAction.CLOSE: Permission.RAISE_QUERY,
    QueryAction.REOPEN: Permission.RAISE_QUERY,
}

_REFUSALS: dict[QueryStatus, str] = {
    QueryStatus.OPEN: "This query is open: it can be answered or closed, not reopened.",
    QueryStatus.ANSWERED: "This query is already answered: close it, or reopen it to ask again.",
    QueryStatus.CLOSED: "This query is closed: reopen it first.",
}


def next_status(status: QueryStatus | str, action: QueryAction | str) -> QueryStatus:
    """The status after `action`; raises TransitionRefused when the step does not apply."""
    current, step = QueryStatus(status), QueryAction(action)
    try:
        return TRANSITIONS[(current, step)]
    except KeyError:
        raise TransitionRefused(_REFUSALS[current]) from None


def actions_from(status: QueryStatus | str) -> tuple[QueryAction, ...]:
    """The steps a person may take on a query in this status, in the order pages offer them."""
    current = QueryStatus(status)
    return tuple(step for (state, step) in TRANSITIONS if state is current
                 and step is not QueryAction.CORRECT)  # correcting happens on the CRF page


def is_unresolved(status: QueryStatus | str) -> bool:
    """Counted as an open query: not yet closed (open, or answered and awaiting review)."""
    return QueryStatus(status) is not QueryStatus.CLOSED


def soft_range_text(label: str, shown: str, canonical: Decimal | None, unit: str | None,
                    soft: Range) -> str:
    """The question an automatic query asks about a value outside its expected range."""
    value = shown
    if canonical is not None and unit and not shown.endswith(f" {unit}"):  # another unit
        value = f"{shown} (= {_plain(canonical)} {unit})"
    return (f"{label}: {value} is outside the expected range {soft.describe(unit)}. "
            "Please confirm the value or correct it.")


def _plain(number: Decimal) -> str:
    """At most three decimals, no exponent: 217.724, 150000."""
    return format(number.quantize(Decimal("0.001")).normalize(), "f")


def correction_text(item_code: str, old: str | None, new: str | None,
                    reason: str | None) -> str:
    """The message a correction through the CRF adds to the item's open query."""
    text = f"Corrected {item_code}: {old or '(blank)'} → {new or '(blank)'}."
    return f"{text} Reason: {reason.strip()}" if reason and reason.strip() else text
