"""Character error rate: the edit distance between what was read and what was written, per character."""

from __future__ import annotations

from collections.abc import Sequence


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions each cost 1)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (ca != cb))
    return row[-1]


def cer(reads: Sequence[str], truths: Sequence[str]) -> float:
    """Summed edit distances over summed truth lengths (so long texts weigh more, as in the literature)."""
    if len(reads) != len(truths):
        raise ValueError(f"{len(reads)} reads for {len(truths)} truths")
    total = sum(map(len, truths))
    return sum(edit_distance(r, t) for r, t in zip(reads, truths, strict=True)) / max(1, total)
