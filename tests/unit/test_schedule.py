"""Plans, re-anchoring and statuses, at every boundary."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.schedule import (
    AnchorDef,
    AnchorKind,
    Schedule,
    Status,
    VisitDef,
    anchor_dates,
    expand_repeat,
    plan,
    reanchor,
    status,
)

D0 = date(2026, 3, 2)
SCHEDULE = Schedule(
    anchors=(
        AnchorDef("ENROL", "Enrolment", AnchorKind.ENROLLMENT),
        AnchorDef("INF1", "Infusion 1", AnchorKind.EVENT, "ENROL", 0),
        AnchorDef("INF2", "Infusion 2", AnchorKind.EVENT, "INF1", 84),
    ),
    visits=(
        VisitDef("INF1", "Infusion 1", "INF1", 0, records="INF1"),
        VisitDef("INF1_W4", "Week 4", "INF1", 28, 7, 7, window_ours=True),
        VisitDef("INF2", "Infusion 2", "INF2", 0, 3, 3, records="INF2"),
        VisitDef("INF2_D3", "Day 3 after infusion 2", "INF2", 3, 1, 1),
        VisitDef("FU1Y", "1 year", "INF2", 365, 30, 30, safety=True),
    ),
)


def test_plan_counts_days_from_each_anchor():
    visits = {v.code: v for v in plan(SCHEDULE, D0)}
    assert visits["INF1"].target == D0
    assert visits["INF1_W4"].target == date(2026, 3, 30)
    assert (visits["INF1_W4"].window_start, visits["INF1_W4"].window_end) == \
        (date(2026, 3, 23), date(2026, 4, 6))
    assert visits["INF2"].target == date(2026, 5, 25)  # day 84
    assert visits["INF2_D3"].target == date(2026, 5, 28)
    assert visits["FU1Y"].target == date(2027, 5, 25)


def test_week_12_infusion_on_day_86_moves_what_hangs_from_it():
    actual = {"INF1": D0}
    moves = reanchor(SCHEDULE, D0, actual, "INF2", D0 + timedelta(days=86), done={"INF1"})
    moved = {m.code: (m.old.target, m.new.target) for m in moves}
    assert moved == {
        "INF2": (date(2026, 5, 25), date(2026, 5, 27)),
        "INF2_D3": (date(2026, 5, 28), date(2026, 5, 30)),
        "FU1Y": (date(2027, 5, 25), date(2027, 5, 27)),
    }


def test_done_visits_keep_their_dates():
    moves = reanchor(SCHEDULE, D0, {}, "INF1", D0 + timedelta(days=2), done={"INF1_W4"})
    assert "INF1_W4" not in {m.code for m in moves}
    # INF2 is planned from INF1, so it and its visits move too
    assert {m.code for m in moves} == {"INF1", "INF2", "INF2_D3", "FU1Y"}


def test_events_planned_from_each_other_in_a_cycle_are_refused():
    looped = Schedule(anchors=(AnchorDef("A", "A", AnchorKind.EVENT, "B", 1),
                               AnchorDef("B", "B", AnchorKind.EVENT, "A", 1)))
    with pytest.raises(ValueError, match="planned from each other"):
        anchor_dates(looped, D0, {})


def test_repeat_expansion_codes_and_names():
    assert expand_repeat("M{month}", "Month {month} ({n})", 30, 30, 90) == [
        ("M1", "Month 1 (1)", 30), ("M2", "Month 2 (2)", 60), ("M3", "Month 3 (3)", 90)]
    assert [c for c, _, _ in expand_repeat("W{week}", "", 28, 28, 84)] == ["W4", "W8", "W12"]


# Window [10, 20] around target 15, lead 3: the day before, on and after each edge.
START, TARGET, END, LEAD = date(2026, 1, 10), date(2026, 1, 15), date(2026, 1, 20), 3


@pytest.mark.parametrize(("day", "expected"), [
    (6, Status.SCHEDULED), (7, Status.UPCOMING), (8, Status.UPCOMING),  # start - lead
    (9, Status.UPCOMING), (10, Status.DUE), (11, Status.DUE),  # window start
    (14, Status.DUE), (15, Status.DUE), (16, Status.OVERDUE),  # target
    (19, Status.OVERDUE), (20, Status.OVERDUE), (21, Status.MISSED),  # window end
])
def test_status_at_every_edge(day, expected):
    assert status(START, TARGET, END, date(2026, 1, day), LEAD) is expected


@pytest.mark.parametrize(("actual", "expected"), [
    (9, Status.COMPLETED_OUT_OF_WINDOW), (10, Status.COMPLETED), (20, Status.COMPLETED),
    (21, Status.COMPLETED_OUT_OF_WINDOW),
])
def test_done_in_or_out_of_window(actual, expected):
    assert status(START, TARGET, END, date(2026, 2, 1), LEAD,
                  actual=date(2026, 1, actual)) is expected


def test_not_done_and_cancelled_are_never_missed():
    late = date(2026, 3, 1)
    assert status(START, TARGET, END, late, LEAD, not_done=True) is Status.NOT_DONE
    assert status(START, TARGET, END, late, LEAD, cancelled=True) is Status.CANCELLED


days = st.integers(-60, 60)


@given(days, st.integers(0, 10), st.integers(0, 10), st.integers(0, 14))
def test_statuses_follow_each_other_in_order(offset, before, after, lead):
    """Walking day by day, an open visit's status never goes back."""
    target = date(2026, 6, 1)
    order = [Status.SCHEDULED, Status.UPCOMING, Status.DUE, Status.OVERDUE, Status.MISSED]
    seen = [status(target - timedelta(days=before), target, target + timedelta(days=after),
                   target + timedelta(days=d), lead) for d in range(offset - 30, offset + 30)]
    ranks = [order.index(s) for s in seen]
    assert ranks == sorted(ranks)


@given(st.integers(0, 200), st.integers(-20, 20))
def test_moving_an_event_shifts_its_visits_by_the_same_days(day0_shift, delta):
    start = D0 + timedelta(days=day0_shift)
    before = {v.code: v.target for v in plan(SCHEDULE, start)}
    inf2 = before["INF2"] + timedelta(days=delta)
    after = {v.code: v.target for v in plan(SCHEDULE, start, {"INF2": inf2})}
    for code in ("INF2", "INF2_D3", "FU1Y"):
        assert after[code] - before[code] == timedelta(days=delta)
    for code in ("INF1", "INF1_W4"):
        assert after[code] == before[code]
