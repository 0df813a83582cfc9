"""Inline SVG charts: valid XML, the values in it, every text escaped, empty data handled."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from app.domain.charts import (
    bar_chart,
    cumulative_by_month,
    line_chart,
    nice_ceiling,
    percent,
    ticks,
)

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    root = ET.fromstring(str(markup))
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element, tag: str = "text") -> list[str]:
    return ["".join(e.itertext()) for e in root.iter(f"{SVG}{tag}")]


def test_line_chart_is_svg_with_values_labels_and_accessible_name():
    points = [("2026-01", 1), ("2026-02", 1), ("2026-03", 4)]
    markup = line_chart(points, 640, 260, title="Enrolled per month", y_label="Enrolled")
    assert isinstance(markup, Markup)
    root = parse(markup)
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Enrolled per month"
    assert root.find(f"{SVG}title").text == "Enrolled per month"
    assert root.get("viewBox") == "0 0 640 260"
    shown = texts(root)
    assert {"2026-01", "2026-02", "2026-03", "Enrolled"} <= set(shown)
    assert "4" in shown  # the last value is written beside the line
    assert texts(root, "title")[1:] == ["2026-01: 1", "2026-02: 1", "2026-03: 4"]
    polyline = root.find(f"{SVG}polyline")
    assert len(polyline.get("points").split()) == 3


def test_line_chart_points_rise_with_values():
    root = parse(line_chart([("a", 0), ("b", 5), ("c", 10)], 400, 200))
    ys = [float(c.get("cy")) for c in root.iter(f"{SVG}circle")]
    assert ys[0] > ys[1] > ys[2]  # SVG's y grows downwards
    xs = [float(c.get("cx")) for c in root.iter(f"{SVG}circle")]
    assert xs == sorted(xs) and all(0 <= x <= 400 for x in xs)
    assert all(0 <= y <= 200 for y in ys)


def test_line_chart_draws_the_target():
    root = parse(line_chart([("2026-01", 3)], title="t", target=20))
    assert "Target 20" in texts(root)
    assert any(e.get("class") == "target" for e in root.iter(f"{SVG}line"))
    assert "20" in texts(root)  # the y axis reaches the target


def test_bar_chart_has_one_bar_per_value():
    root = parse(bar_chart([("SITEA", 3), ("SITEB", 0), ("SITEC", 12)], title="Per site"))
    bars = list(root.iter(f"{SVG}rect"))
    assert len(bars) == 3
    assert [float(b.get("height")) for b in bars][1] == 0
    heights = [float(b.get("height")) for b in bars]
    assert heights[2] > heights[0] > 0
    assert {"SITEA", "SITEB", "SITEC", "3", "0", "12"} <= set(texts(root))
    assert root.get("aria-label") == "Per site"


@pytest.mark.parametrize("chart", [line_chart, bar_chart])
def test_every_text_is_escaped(chart):
    evil = '<script>alert("x")</script> & "quotes"'
    markup = chart([(evil, 2), ("ok", 1)], title=evil, y_label=evil)
    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup
    root = parse(markup)  # still well-formed XML
    assert root.get("aria-label") == evil  # and reads back as the original text
    assert evil in texts(root)
    assert not list(root.iter(f"{SVG}script"))


@pytest.mark.parametrize("chart", [line_chart, bar_chart])
def test_empty_data_says_so(chart):
    root = parse(chart([], title="Nothing", empty="Nobody enrolled yet"))
    assert texts(root) == ["Nobody enrolled yet"]
    assert root.get("role") == "img" and root.get("aria-label") == "Nothing"


def test_a_single_point_and_all_zero_values_draw():
    root = parse(line_chart([("2026-05", 0)]))
    (circle,) = root.iter(f"{SVG}circle")
    assert float(circle.get("cy")) > 0
    parse(bar_chart([("A", 0), ("B", 0)]))


def test_many_labels_are_thinned_so_they_do_not_overlap():
    points = [(f"2026-{m:02d}", m) for m in range(1, 13)] * 3
    root = parse(line_chart(points, 400, 200))
    labels = [t for t in texts(root) if t.startswith("2026-")]
    assert 1 < len(labels) < len(points)


def test_nice_ceiling_and_ticks():
    assert [nice_ceiling(v) for v in (0, 1, 3, 7, 11, 20, 21, 99, 101)] == \
        [1, 1, 5, 10, 20, 20, 50, 100, 200]
    assert ticks(20) == [0, 5, 10, 15, 20]
    assert ticks(1) == [0, 1]
    assert ticks(5) == [0, 1, 2, 3, 4, 5]


@given(st.integers(min_value=0, max_value=10**7))
def test_ticks_span_from_zero_to_the_top(value):
    top = nice_ceiling(value)
    assert top >= value
    found = ticks(top)
    assert found[0] == 0 and found[-1] == top and len(found) <= 11


def test_cumulative_by_month_fills_gaps_and_runs_to_now():
    counts = {(2025, 11): 2, (2026, 2): 1}
    assert cumulative_by_month(counts, until=(2026, 3)) == [
        ("2025-11", 2, 2), ("2025-12", 0, 2), ("2026-01", 0, 2), ("2026-02", 1, 3),
        ("2026-03", 0, 3)]
    assert cumulative_by_month({}, until=(2026, 3)) == []
    assert cumulative_by_month({(2026, 1): 1}) == [("2026-01", 1, 1)]


def test_percent():
    assert percent(1, 2) == 50
    assert percent(2, 3) == 67
    assert percent(0, 0) is None
