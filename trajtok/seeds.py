"""The one range every seed in trajtok takes. A seed reaches numpy's `default_rng` (which refuses negative
seeds) and torch's `Generator.manual_seed` (which overflows past 64 bits); 0 .. 2^63-1 suits both."""

from __future__ import annotations

import secrets

MAX_SEED = 2**63 - 1
SEED_RANGE = "a whole number from 0 to 2^63-1"


def is_seed(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SEED


def seed_after(seed: int, k: int) -> int:
    """The k-th seed after `seed` (a batch's or a draft's own), wrapping round within the range."""
    return (seed + k) % (MAX_SEED + 1)


def fresh_seed() -> int:
    """A seed drawn afresh, to say after a run that was given none, so that it can be written again: below
    2^32, short to type and exact in JavaScript's numbers (the studio's seed field)."""
    return secrets.randbelow(2**32)
