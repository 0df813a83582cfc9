from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.domain.rules import (
    All,
    AnyOf,
    Compare,
    Context,
    Count,
    Is,
    Not,
    Quantity,
    Result,
    Within,
    evaluate,
)

D = Decimal
CREAT_GT_106 = Compare("CREAT", ">", D(106), "umol/L")


def run(rule, **values):
    return evaluate(rule, Context(values))


def test_threshold_in_the_protocol_unit_is_exact():
    assert run(CREAT_GT_106, CREAT=Quantity(D(106), "umol/L")).result is Result.NOT_MET
    assert run(CREAT_GT_106, CREAT=Quantity(D("106.01"), "umol/L")).result is Result.MET


def test_threshold_in_another_unit_shows_the_conversion():
    out = run(CREAT_GT_106, CREAT=Quantity(D("1.3"), "mg/dL"))
    assert out.result is Result.MET
    assert out.reason == "CREAT 1.3 mg/dL = 114.9 umol/L > 106 umol/L"
    assert run(CREAT_GT_106, CREAT=Quantity(D("1.19"), "mg/dL")).result is Result.NOT_MET


def test_times_uln_uses_the_labs_limit():
    rule = Compare("ALT", ">", times_uln=D("1.5"))
    assert run(rule, ALT=Quantity(D(60), "U/L", D(40))).result is Result.NOT_MET
    assert run(rule, ALT=Quantity(D("60.1"), "U/L", D(40))).result is Result.MET
    assert run(rule, ALT=Quantity(D(60), "U/L")).result is Result.MISSING


def test_titre_and_missing():
    rule = Compare("ANA", ">=", D(80), titre=True)
    assert run(rule, ANA=80).result is Result.MET
    assert run(rule, ANA=40).result is Result.NOT_MET
    out = run(rule)
    assert out.result is Result.MISSING and out.reason == "ANA not entered"


def test_window_before_a_date_includes_both_ends():
    rule = Within("EVT", 56, "SCRDT")
    scr = date(2026, 5, 1)
    assert run(rule, EVT=date(2026, 3, 6), SCRDT=scr).result is Result.MET  # 56 days
    assert run(rule, EVT=date(2026, 3, 5), SCRDT=scr).result is Result.NOT_MET  # 57 days
    assert run(rule, EVT=scr, SCRDT=scr).result is Result.MET
    assert run(rule, EVT=date(2026, 5, 2), SCRDT=scr).result is Result.NOT_MET  # after


def test_hidden_item_is_not_met_rather_than_missing():
    rule = Within("EVT", 56, "SCRDT")
    ctx = Context({"SCRDT": date(2026, 5, 1)}, hidden=frozenset({"EVT"}))
    assert evaluate(rule, ctx).result is Result.NOT_MET


def test_count_at_least():
    rules = tuple(Is(f"A{i}", True) for i in range(11))
    values = {f"A{i}": i < 3 for i in range(11)}
    assert run(Count(rules, 4), **values).result is Result.NOT_MET
    values["A3"] = True
    assert run(Count(rules, 4), **values).result is Result.MET
    partial = {f"A{i}": True for i in range(3)}
    assert run(Count(rules, 4), **partial).result is Result.MISSING


def test_soft_range_flag_is_carried():
    ctx = Context({"CREAT": Quantity(D(5000), "umol/L")}, implausible=frozenset({"CREAT"}))
    assert evaluate(CREAT_GT_106, ctx).review


results = st.sampled_from([True, False, None])


@given(st.lists(results, min_size=1, max_size=6))
def test_all_and_any_follow_three_valued_logic(answers):
    rules = tuple(Is(f"V{i}", True) for i in range(len(answers)))
    values = {f"V{i}": a for i, a in enumerate(answers)}
    all_result = run(All(rules), **values).result
    any_result = run(AnyOf(rules), **values).result
    if False in answers:
        assert all_result is Result.NOT_MET
    elif None in answers:
        assert all_result is Result.MISSING
    else:
        assert all_result is Result.MET
    if True in answers:
        assert any_result is Result.MET
    elif None in answers:
        assert any_result is Result.MISSING
    else:
        assert any_result is Result.NOT_MET


@given(results)
def test_not_flips_known_results_only(answer):
    inner = run(Is("V", True), V=answer).result
    outer = run(Not(Is("V", True)), V=answer).result
    flips = {Result.MET: Result.NOT_MET, Result.NOT_MET: Result.MET, Result.MISSING: Result.MISSING}
    assert outer is flips[inner]


@given(st.decimals(min_value=D(0), max_value=D(500), places=2))
def test_comparison_agrees_with_decimal_arithmetic(value):
    expected = Result.MET if value > 106 else Result.NOT_MET
    assert run(CREAT_GT_106, CREAT=Quantity(value, "umol/L")).result is expected
