from collections import Counter
from itertools import islice

from hypothesis import given
from hypothesis import strategies as st

from app.domain.definitions import Randomization
from app.domain.randomization import allocation, blocks, stratum_key

ONE_TO_ONE = Randomization((("MSC", 1), ("MMF", 1)), (2, 4, 6))


def test_reproducible_from_seed_and_stratum():
    first = [allocation(ONE_TO_ONE, "seed-123456", "site=A", n) for n in range(1, 30)]
    again = [allocation(ONE_TO_ONE, "seed-123456", "site=A", n) for n in range(1, 30)]
    other = [allocation(ONE_TO_ONE, "seed-123456", "site=B", n) for n in range(1, 30)]
    assert first == again
    assert first != other


def test_block_sizes_vary():
    sizes = {len(b) for b in islice(blocks(ONE_TO_ONE, "s" * 12, "site=A"), 50)}
    assert sizes == {2, 4, 6}


@given(st.text(min_size=12, max_size=30), st.integers(1, 40))
def test_every_block_is_balanced(seed, n_blocks):
    for block in islice(blocks(ONE_TO_ONE, seed, "site=X"), n_blocks):
        counts = Counter(block)
        assert counts["MSC"] == counts["MMF"] == len(block) // 2


@given(st.text(min_size=12, max_size=30))
def test_imbalance_never_exceeds_half_the_largest_block(seed):
    running = 0
    for n in range(1, 80):
        running += 1 if allocation(ONE_TO_ONE, seed, "site=X", n) == "MSC" else -1
        assert abs(running) <= 3


def test_stratum_key():
    assert stratum_key(ONE_TO_ONE, {"site": "SEOUL"}) == "site=SEOUL"
