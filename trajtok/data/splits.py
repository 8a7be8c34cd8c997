"""Deterministic train/val/test membership for sources that ship as one pool, and seeded subsets."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

SPLITS = ("train", "val", "test", "all")
_ALIASES = {"valid": "val", "validation": "val", "dev": "val"}
_SHARES = (("train", 90), ("val", 95), ("test", 100))  # cumulative percent by a stable hash of each key


def canonical_split(split: str) -> str:
    split = _ALIASES.get(split, split)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    return split


def split_of(key: str) -> str:
    """The split a record belongs to, from a stable hash of its key (form id, record index...)."""
    bucket = zlib.crc32(key.encode("utf-8")) % 100
    return next(name for name, upto in _SHARES if bucket < upto)


def split_names(keys: Sequence[str]) -> list[str]:
    """The split of each record of one pool, in order: `split_of`, except that a pool whose hash gives
    validation nothing (under about 20 records: a user's own few words, a handful of episodes) moves its
    first train record there, so training still has a validation sample (with 2 train records or more).
    The first, so that records appended after it (the studio's, a new writer's file) leave it in place."""
    names = [split_of(key) for key in keys]
    train = [i for i, name in enumerate(names) if name == "train"]
    if "val" not in names and len(train) >= 2:
        names[train[0]] = "val"
    return names


def select(keys: Sequence[str], split: str, n: int | None, seed: int) -> list[int]:
    """Indices of the records in `split` (in file order; `split_names`), or a seeded random `n` of them
    (sorted)."""
    split = canonical_split(split)
    if split == "all":
        chosen = list(range(len(keys)))
    else:
        chosen = [i for i, name in enumerate(split_names(keys)) if name == split]
    if n is not None and n < len(chosen):
        rng = np.random.default_rng(seed)
        chosen = sorted(rng.choice(chosen, size=n, replace=False).tolist())
    return chosen
