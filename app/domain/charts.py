"""Charts drawn as inline SVG by our own code: plain functions over plain values.

Every text that goes into the markup (titles, labels, values) is escaped with
`markupsafe.escape`, so the result can be marked safe and placed in a page as it is.
The SVG carries `role="img"`, an `aria-label` and a `<title>`; the numbers are always
shown as a table beside the chart as well (the chart is never the only way to read them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from markupsafe import Markup, escape

SVG_NS = "http://www.w3.org/2000/svg"
# Room around the plot for the axis labels (left, right, top, bottom).
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 16, 16, 40
_FONT = 12


def nice_ceiling(value: float) -> int:
    """The smallest 1, 2 or 5 × 10^k (at least 1) not below `value`: the top of the y axis."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)  # pragma: no cover (the loop always returns)


def ticks(top: int, most: int = 5) -> list[int]:
    """Whole-number ticks from 0 to `top` (a nice ceiling), at most `most` + 1 of them."""
    step = max(1, nice_ceiling(top / most))
    while top % step:
        step += 1
    return list(range(0, top + 1, step))


def cumulative_by_month(counts: Mapping[tuple[int, int], int],
                        until: tuple[int, int] | None = None) -> list[tuple[str, int, int]]:
    """(\"YYYY-MM\", new that month, cumulative) for every month from the first with a count
    to `until` (or the last with a count), months without any included."""
    if not counts:
        return []
    first, last = min(counts), max(counts)
    if until is not None and until > last:
        last = until
    out: list[tuple[str, int, int]] = []
    total = 0
    year, month = first
    while (year, month) <= last:
        new = counts.get((year, month), 0)
        total += new
        out.append((f"{year:04d}-{month:02d}", new, total))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def percent(part: int, whole: int) -> int | None:
    """A whole percentage, or None when there is nothing to divide by."""
    if whole <= 0:
        return None
    return round(100 * part / whole)


def _open(width: int, height: int, title: str, css_class: str) -> list[str]:
    label = escape(title)
    return [
        f'<svg xmlns="{SVG_NS}" class="chart {escape(css_class)}" role="img" '
        f'aria-label="{label}" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMidYMid meet" focusable="false">',
        f"<title>{label}</title>",
    ]


def _empty(width: int, height: int, title: str, css_class: str, message: str) -> Markup:
    parts = _open(width, height, title, css_class)
    parts.append(f'<text class="chart-empty" x="{width / 2:g}" y="{height / 2:g}" '
                 f'text-anchor="middle" font-size="{_FONT + 2}">{escape(message)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _y_axis(parts: list[str], top: int, plot_top: int, plot_bottom: int, plot_left: int,
            plot_right: int, y_label: str) -> None:
    """Horizontal grid lines with their values, and the axis title written upwards."""
    span = plot_bottom - plot_top
    for tick in ticks(top):
        y = plot_bottom - span * tick / top
        parts.append(f'<line class="grid" x1="{plot_left}" y1="{y:.1f}" x2="{plot_right}" '
                     f'y2="{y:.1f}" />')
        parts.append(f'<text class="tick" x="{plot_left - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end" font-size="{_FONT}">{tick}</text>')
    if y_label:
        middle = (plot_top + plot_bottom) / 2
        parts.append(f'<text class="axis-label" x="12" y="{middle:.1f}" text-anchor="middle" '
                     f'font-size="{_FONT}" transform="rotate(-90 12 {middle:.1f})">'
                     f"{escape(y_label)}</text>")
    parts.append(f'<line class="axis" x1="{plot_left}" y1="{plot_bottom}" x2="{plot_right}" '
                 f'y2="{plot_bottom}" />')


def _text_width(text: str) -> float:
    """About how wide a label is drawn (an average glyph is ~0.62 of the font size)."""
    return len(text) * _FONT * 0.62


def _label_every(count: int, room: float, longest: int) -> int:
    """Show every n-th x label so that labels of `longest` characters do not overlap."""
    needed = longest * _FONT * 0.62 + 8
    return max(1, math.ceil(needed / room)) if room > 0 else count


def line_chart(points: Iterable[tuple[str, int]], width: int = 640, height: int = 260, *,
               title: str = "Chart", y_label: str = "", target: int | None = None,
               empty: str = "No data yet") -> Markup:
    """A line through (label, value) points in order, e.g. cumulative enrolment per month.

    `target`, when given, is drawn as a dashed horizontal line with its value.
    """
    data = [(str(label), int(value)) for label, value in points]
    if not data:
        return _empty(width, height, title, "line-chart", empty)
    highest = max([v for _, v in data] + ([target] if target else []))
    top = nice_ceiling(highest)
    # the last x label is centred on the plot's right edge: leave room for its half
    half_label = _text_width(data[-1][0]) / 2 + 4
    left, right = _LEFT + (12 if y_label else 0), width - max(_RIGHT, math.ceil(half_label))
    plot_top, plot_bottom = _TOP, height - _BOTTOM
    span_x, span_y = right - left, plot_bottom - plot_top
    step = span_x / (len(data) - 1) if len(data) > 1 else 0

    def x_of(i: int) -> float:
        return left + step * i if len(data) > 1 else left + span_x / 2

    def y_of(value: int) -> float:
        return plot_bottom - span_y * value / top

    parts = _open(width, height, title, "line-chart")
    _y_axis(parts, top, plot_top, plot_bottom, left, right, y_label)
    if target:
        y = y_of(target)
        parts.append(f'<line class="target" x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" '
                     'stroke-dasharray="6 4" />')
        parts.append(f'<text class="target-label" x="{right}" y="{y - 5:.1f}" '
                     f'text-anchor="end" font-size="{_FONT}">Target {int(target)}</text>')
    coords = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, (_, v) in enumerate(data))
    parts.append(f'<polyline class="series" fill="none" points="{coords}" />')
    every = _label_every(len(data), step if len(data) > 1 else span_x,
                         max(len(label) for label, _ in data))
    for i, (label, value) in enumerate(data):
        x, y = x_of(i), y_of(value)
        parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3.5">'
                     f"<title>{escape(label)}: {value}</title></circle>")
        if i % every == 0:
            parts.append(f'<text class="tick" x="{x:.1f}" y="{plot_bottom + 18}" '
                         f'text-anchor="middle" font-size="{_FONT}">{escape(label)}</text>')
    last_value = data[-1][1]
    parts.append(f'<text class="value" x="{x_of(len(data) - 1):.1f}" '
                 f'y="{y_of(last_value) - 8:.1f}" text-anchor="end" '
                 f'font-size="{_FONT}">{last_value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(bars: Iterable[tuple[str, int]], width: int = 640, height: int = 260, *,
              title: str = "Chart", y_label: str = "", empty: str = "No data yet") -> Markup:
    """One vertical bar per (label, value), its value written above it."""
    data = [(str(label), int(value)) for label, value in bars]
    if not data:
        return _empty(width, height, title, "bar-chart", empty)
    top = nice_ceiling(max(v for _, v in data))
    left, right = _LEFT + (12 if y_label else 0), width - _RIGHT
    plot_top, plot_bottom = _TOP + 8, height - _BOTTOM
    slot = (right - left) / len(data)
    bar = min(72.0, slot * 0.6)
    parts = _open(width, height, title, "bar-chart")
    _y_axis(parts, top, plot_top, plot_bottom, left, right, y_label)
    every = _label_every(len(data), slot, max(len(label) for label, _ in data))
    for i, (label, value) in enumerate(data):
        middle = left + slot * (i + 0.5)
        h = (plot_bottom - plot_top) * value / top
        parts.append(f'<rect class="bar" x="{middle - bar / 2:.1f}" y="{plot_bottom - h:.1f}" '
                     f'width="{bar:.1f}" height="{h:.1f}">'
                     f"<title>{escape(label)}: {value}</title></rect>")
        parts.append(f'<text class="value" x="{middle:.1f}" y="{plot_bottom - h - 5:.1f}" '
                     f'text-anchor="middle" font-size="{_FONT}">{value}</text>')
        if i % every == 0:
            parts.append(f'<text class="tick" x="{middle:.1f}" y="{plot_bottom + 18}" '
                         f'text-anchor="middle" font-size="{_FONT}">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
