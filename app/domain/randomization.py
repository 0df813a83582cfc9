"""Permuted blocks of varying size, reproducible from a seed, one list per stratum."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from itertools import islice

from app.domain.definitions import Randomization


def _rng(seed: str, stratum: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}\x00{stratum}".encode()).digest()
    return random.Random(int.from_bytes(digest, "big"))


def blocks(scheme: Randomization, seed: str, stratum: str) -> Iterator[list[str]]:
    """The stratum's list, block by block: each block holds the arms in the ratio, shuffled."""
    rng = _rng(seed, stratum)
    per_round = sum(weight for _, weight in scheme.ratio)
    while True:
        size = rng.choice(scheme.block_sizes)
        block = [arm for arm, weight in scheme.ratio for _ in range(weight * size // per_round)]
        rng.shuffle(block)
        yield block


def allocation(scheme: Randomization, seed: str, stratum: str, position: int) -> str:
    """The arm at 1-based `position` of the stratum's list."""
    if position < 1:
        raise ValueError("positions start at 1")
    arms = (arm for block in blocks(scheme, seed, stratum) for arm in block)
    return next(islice(arms, position - 1, None))


def stratum_key(scheme: Randomization, factors: dict[str, str]) -> str:
    """E.g. 'site=SEOUL' for a list stratified by site."""
    return ";".join(f"{name}={factors[name]}" for name in scheme.stratify_by)
