"""Lines from single words: a word bank (bigbank, any cursive-transformer JSON) trains into multi-word lines.

A model shown only single words never sees a blank, and writes phrases as scribble. Here 1-N words of the
same writer are joined into one sample, as the cursive transformer trains on stitched words: each word is
placed a word gap right of the ink of the one before, its baseline moved by a little drift. The word gap is
declared, not measured (a word bank holds no gaps): log-normal around WORD_GAP x-heights, clipped to
WORD_GAP_RANGE: 10th / 50th / 90th percentiles 0.73 / 1.0 / 1.38. The synthetic print writers' blanks
measure 0.75 / 1.12 / 1.69 (phrase_layout.word_gaps over 400 hershey training samples).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from trajtok.sample import Sample
from trajtok.strokes import differentiate, integrate

WORD_GAP = 1.0  # median gap between the ink of two words, x-heights
WORD_GAP_SPREAD = 0.25  # sigma of its logarithm
WORD_GAP_RANGE = (0.55, 1.8)
BASELINE_DRIFT = 0.06  # sd of each word's baseline offset from the line's, x-heights


def join_words(words: list[Sample], gaps: list[float], drifts: list[float]) -> Sample:
    """One line: words[k + 1]'s ink starts gaps[k] right of the ink of words[..k], raised by drifts[k].

    Text: the words joined by blanks. char_index follows when every word has one (blanks own no points);
    the pen-up travel into each word becomes the step that leaves the word before. word_index: which word
    of the text each point is of (`piece_point_words`: -1 for the points of a sample of several words that
    does not know its own). A word without points (a model may end a word at once) adds its text only."""
    parts, right, texts, chars, offset = [], 0.0, [], [], 0
    owners = [
        piece_point_words(word.text, first, word.word_index, len(word))
        for word, first in zip(words, first_words([w.text for w in words]), strict=True)
    ]
    for k, word in enumerate(words):
        points = integrate(word.deltas, word.events[:, 0]).astype(np.float64)
        if k and len(points):
            points[:, 0] += right + gaps[k - 1] - points[:, 0].min()
            points[:, 1] += drifts[k - 1]
        right = float(points[:, 0].max()) if len(points) else right
        parts.append(points)
        texts.append(word.text)
        if word.char_index is not None:
            chars.append(np.where(word.char_index >= 0, word.char_index + offset, -1))
        offset += len(word.text) + 1
    deltas, _ = differentiate(np.concatenate(parts))
    events = np.concatenate([w.events for w in words])
    return dataclasses.replace(
        words[0],
        deltas=deltas.astype(words[0].deltas.dtype),
        events=events,
        text=" ".join(texts),
        char_index=np.concatenate(chars).astype(np.int32) if len(chars) == len(words) else None,
        word_index=np.concatenate(owners),
    )


def first_words(texts: list[str]) -> list[int]:
    """The index, in the texts joined by blanks, of each text's first word (the words before it)."""
    return np.cumsum([0] + [len(text.split()) for text in texts[:-1]]).tolist()


def piece_point_words(text: str, first: int, own: np.ndarray | None, n: int) -> np.ndarray:
    """(n,) int32: the word of a line each of the n points of one of its pieces (`text`, whose first word is
    the line's word `first`) is of: all `first` for a one-word piece, else the piece's own `word_index`
    (`own`) moved by `first`; -1 where unknown."""
    if len(text.split()) == 1:
        return np.full(n, first, dtype=np.int32)
    if own is None:
        return np.full(n, -1, dtype=np.int32)
    return np.where(np.asarray(own) >= 0, np.asarray(own) + first, -1).astype(np.int32)


def draw_word_gaps(n: int, rng: np.random.Generator) -> np.ndarray:
    """n gaps between words from the declared distribution (x-heights)."""
    gaps = WORD_GAP * np.exp(rng.normal(0.0, WORD_GAP_SPREAD, size=n))
    return np.clip(gaps, *WORD_GAP_RANGE)


def draw_layout(n_words: int, rng: np.random.Generator) -> tuple[list[float], list[float]]:
    """The gaps and baseline drifts (n_words - 1 of each) of a line of n_words, as declared above."""
    gaps = draw_word_gaps(n_words - 1, rng)
    drifts = rng.normal(0.0, BASELINE_DRIFT, size=n_words - 1)
    return list(gaps), list(drifts)


def stitch(words: list[Sample], rng: np.random.Generator) -> Sample:
    """These words as one line, with gaps and baseline drifts drawn from the declared distributions."""
    return join_words(words, *draw_layout(len(words), rng))


def stitch_lines(
    words: list[Sample],
    n: int,
    words_per_sample: tuple[int, int],
    seed: int,
    lengths: Sequence[int] | None = None,
    max_length: int | None = None,
) -> list[Sample]:
    """n lines of 1..N words each (N drawn uniformly in `words_per_sample`), each line's words drawn
    without replacement from one writer (`style_id`; the samples without one count as one writer). With
    `lengths` (each word's, e.g. in model steps) a line stops growing before its words' lengths sum past
    `max_length`. [1, 1] gives the words themselves."""
    low, high = words_per_sample
    if high <= 1:
        return list(words[:n])
    writers: dict[int | None, list[int]] = {}
    for i, word in enumerate(words):
        writers.setdefault(word.style_id, []).append(i)
    pools = list(writers.values())
    weights = np.array([len(p) for p in pools], dtype=np.float64) / len(words)
    rng = np.random.default_rng([seed, 11])
    lines = []
    for _ in range(n):
        pool = pools[rng.choice(len(pools), p=weights)]
        count = min(int(rng.integers(low, high + 1)), len(pool))
        picked = rng.choice(pool, size=count, replace=False)
        if lengths is not None and max_length is not None:
            sizes = np.cumsum([lengths[i] for i in picked])
            picked = picked[: max(1, int(np.searchsorted(sizes, max_length, side="right")))]
        lines.append(stitch([words[i] for i in picked], rng))
    return lines
