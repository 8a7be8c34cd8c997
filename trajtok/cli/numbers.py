"""argparse types for numbers with a range, so an option out of range is refused by name when the options
are read ("argument --top-p: must be in (0, 1], got 2.0"), before a model or any data is loaded."""

from __future__ import annotations

import argparse
import math

from trajtok.seeds import SEED_RANGE, is_seed


def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def random_seed(text: str) -> int:
    """A seed (trajtok.seeds): refused here rather than by numpy or torch, whose errors name no option."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not is_seed(value):
        raise argparse.ArgumentTypeError(f"must be {SEED_RANGE}, got {value}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0."""
    value = _finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def probability(text: str) -> float:
    """A number in (0, 1]."""
    value = _finite_float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value
