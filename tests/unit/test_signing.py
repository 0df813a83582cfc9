"""The content hash a signature is bound to: order-independent, and changed by any change of
what was signed (a value, its unit, its ULN; a visit's date, state or CRFs)."""

from dataclasses import replace
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from app.domain.signing import (
    APPROVED,
    MEANINGS,
    CrfContent,
    ItemContent,
    VisitContent,
    crf_hash,
    visit_hash,
)

ALT = ItemContent("ALT", "84", "U/L", "40")
PULSE = ItemContent("PULSE", "72", "bpm")
TERM = ItemContent("AETERM", "Headache")


def _crf(*items: ItemContent, form: str = "LB", sequence: int = 1) -> CrfContent:
    return CrfContent(form, sequence, tuple(items))


def _visit(*crfs: CrfContent, on: date | None = date(2026, 3, 2),
           not_done: str | None = None) -> VisitContent:
    return VisitContent("INF1_W1", on, not_done, tuple(crfs))


def test_hash_is_sha256_hex():
    digest = crf_hash(_crf(ALT, PULSE))
    assert len(digest) == 64 and int(digest, 16) >= 0


def test_meanings_are_a_short_fixed_list():
    assert APPROVED in MEANINGS and 2 <= len(MEANINGS) <= 5
    assert len(set(MEANINGS)) == len(MEANINGS)


def test_item_order_does_not_matter():
    assert crf_hash(_crf(ALT, PULSE, TERM)) == crf_hash(_crf(TERM, ALT, PULSE))


def test_crf_order_within_a_visit_does_not_matter():
    vs, lb = _crf(PULSE, form="VS"), _crf(ALT, form="LB")
    assert visit_hash(_visit(vs, lb)) == visit_hash(_visit(lb, vs))


def test_value_unit_and_uln_each_change_the_hash():
    base = crf_hash(_crf(ALT))
    changed = [replace(ALT, value="85"), replace(ALT, unit="IU/L"), replace(ALT, uln="45"),
               replace(ALT, uln=None), replace(ALT, code="AST")]
    hashes = {crf_hash(_crf(item)) for item in changed}
    assert base not in hashes and len(hashes) == len(changed)


def test_form_code_and_sequence_are_part_of_the_content():
    base = crf_hash(_crf(TERM, form="AE", sequence=1))
    assert crf_hash(_crf(TERM, form="AE", sequence=2)) != base
    assert crf_hash(_crf(TERM, form="CM", sequence=1)) != base


def test_an_emptied_item_hashes_like_one_never_entered():
    assert crf_hash(_crf(PULSE, ItemContent("TEMP", None))) == crf_hash(_crf(PULSE))
    assert crf_hash(_crf(PULSE, ItemContent("TEMP", ""))) == crf_hash(_crf(PULSE))
    assert _crf(ItemContent("TEMP", None)).empty and not _crf(PULSE).empty


def test_visit_date_state_and_crfs_change_the_visit_hash():
    vs = _crf(PULSE, form="VS")
    base = visit_hash(_visit(vs))
    variants = [_visit(vs, on=date(2026, 3, 3)), _visit(vs, on=None, not_done="ill"),
                _visit(_crf(replace(PULSE, value="80"), form="VS")),
                _visit(vs, _crf(ALT, form="LB")), replace(_visit(vs), code="INF1_W2")]
    hashes = {visit_hash(v) for v in variants}
    assert base not in hashes and len(hashes) == len(variants)


def test_an_unfilled_crf_does_not_change_the_visit_hash():
    vs = _crf(PULSE, form="VS")
    assert visit_hash(_visit(vs, _crf(ItemContent("ALT", None), form="LB"))) == \
        visit_hash(_visit(vs))


def test_a_crf_and_a_visit_never_share_a_hash():
    assert crf_hash(_crf()) != visit_hash(_visit(on=None))


texts = st.one_of(st.none(), st.text(max_size=8))
items = st.builds(ItemContent, st.text(min_size=1, max_size=6), st.text(min_size=1, max_size=8),
                  texts, texts)


@given(st.lists(items, max_size=8, unique_by=lambda i: i.code), st.randoms())
def test_any_permutation_of_items_hashes_the_same(values, rnd):
    shuffled = list(values)
    rnd.shuffle(shuffled)
    assert crf_hash(_crf(*values)) == crf_hash(_crf(*shuffled))


@given(st.lists(items, min_size=1, max_size=6, unique_by=lambda i: i.code), st.data())
def test_any_change_of_one_stored_column_changes_the_hash(values, data):
    index = data.draw(st.integers(0, len(values) - 1))
    column = data.draw(st.sampled_from(["value", "unit", "uln"]))
    old = getattr(values[index], column)
    new = data.draw((st.text(min_size=1, max_size=8) if column == "value" else texts)
                    .filter(lambda v: v != old))
    changed = list(values)
    changed[index] = replace(values[index], **{column: new})
    assert crf_hash(_crf(*values)) != crf_hash(_crf(*changed))
