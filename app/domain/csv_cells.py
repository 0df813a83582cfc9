"""CSV cells a spreadsheet shows as text and never evaluates (formula or DDE injection).

The rule, applied to every cell of an export:

- A cell that starts with ``=``, ``+``, ``-`` or ``@``, or with a tab or carriage return
  (which spreadsheets also read as the start of a formula), gets a leading apostrophe.
- Except a plain number: ``-1.5``, ``+3``, ``-2e-3`` are data and stay numbers. "Plain" means
  the whole cell is an optional sign, ASCII digits with at most one decimal point, and an optional
  exponent: no spaces, no thousands separators, nothing that could call a function.
- A cell that already starts with an apostrophe gets one more, so that the step can be undone
  without guessing: `restore(neutralise(v)) == v` for every string `v`. (Applying `neutralise`
  twice therefore adds two apostrophes: an export applies it exactly once, to raw values.)

Everything else is left exactly as it is.
"""

from __future__ import annotations

import re

FORMULA_START = frozenset("=+-@\t\r")
ESCAPE = "'"
ESCAPED_START = FORMULA_START | {ESCAPE}  # a cell starting otherwise is never escaped
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def is_number(value: str) -> bool:
    """The whole cell is a plain decimal number a spreadsheet reads as a number."""
    return _NUMBER.fullmatch(value) is not None


def needs_escape(value: str) -> bool:
    # the first character decides for almost every cell; only then the number's pattern
    return bool(value) and value[0] in ESCAPED_START and not is_number(value)


def neutralise(value: str) -> str:
    """The cell as exported: inert text, or unchanged when it is safe or a plain number."""
    return ESCAPE + value if needs_escape(value) else value


def restore(cell: str) -> str:
    """The value a neutralised cell came from (for imports and tests)."""
    if cell.startswith(ESCAPE) and needs_escape(cell[1:]):
        return cell[1:]
    return cell
