"""Where words begin in a stream of strokes, decided as soon as the strokes allow (for line wrapping).

Where the points declare their word (the writer of the strokes knows it: a synthetic hand's glyphs, a model's
words written one by one or spaced by its word spacer), a stroke starts a new word when its first point
declares a later word than the word so far, and never otherwise. Where either is not declared
(UNKNOWN_WORD), the gap decides: a stroke starts a new word if it and the next strokes (WORD_LOOKAHEAD in
all) all lie right of the word so far by more than `word_gap`, a blank column (checking only the stroke
itself would split words before letters drawn right to left, like a, d, q). One point left of the column
settles it (it continues the word); a new word needs all those strokes complete, or the end of input.
Columns are measured across the hand's slant (x - shear * y, `Slant`: the running estimate from the strokes
so far), or a slanted hand's letters, leaning over the gap between its words, would close it. One threshold
still cannot serve every hand: a wide print hand's letter gaps pass for word gaps (bench/board_fit.py).
"""

from __future__ import annotations

import numpy as np

WORD_LOOKAHEAD = 3  # strokes looked at past a pen-up jump to decide whether it is a gap between words
UNKNOWN_WORD = -1  # a point whose word is not declared
NEAR_VERTICAL = 2.0  # a pen-down move with |dy| > NEAR_VERTICAL * |dx| shows the hand's slant
SHEAR_EDGES = np.linspace(-0.5, 0.5, 51)  # the slant estimate's bins (|dx / dy| < 1 / NEAR_VERTICAL)


class Slant:
    """The hand's slant as a shear (dx per unit dy, > 0 leaning right): the |dy|-weighted median of the
    shears of its near-vertical pen-down moves, in SHEAR_EDGES bins (0 until there is one)."""

    def __init__(self):
        self.weights = np.zeros(len(SHEAR_EDGES) - 1)

    def add_move(self, delta: np.ndarray) -> None:
        dx, dy = float(delta[0]), float(delta[1])
        if abs(dy) > NEAR_VERTICAL * abs(dx):
            self.weights[int(np.searchsorted(SHEAR_EDGES, dx / dy, side="right")) - 1] += abs(dy)

    @property
    def shear(self) -> float:
        total = self.weights.sum()
        if total == 0:
            return 0.0
        k = int(np.searchsorted(np.cumsum(self.weights), total / 2))
        return float(SHEAR_EDGES[k] + SHEAR_EDGES[k + 1]) / 2


class WordSegmenter:
    """Feed points with `add_point`; `strokes` are the closed strokes (N_i, 2), `open_stroke` the points of
    the one being received, `word_starts` the first stroke of each word decided so far (strokes before
    `n_segmented` have a known word). A point's declared `word` counts the words before it (UNKNOWN_WORD:
    not declared)."""

    def __init__(self, wrap: bool, word_gap: float):
        self.wrap = wrap  # without wrapping, where words end changes nothing: one word
        self.word_gap = word_gap
        self.strokes: list[np.ndarray] = []
        self.open_stroke: list[np.ndarray] = []
        self.word_starts = [0]
        self.n_segmented = 0
        self.done = False  # no more input
        self.slant = Slant()
        self._x_min: list[float] = []
        self._x_max: list[float] = []
        self._first_words: list[int] = []  # the declared word of each stroke's first point, open one included
        self._declared_word = UNKNOWN_WORD  # the latest word declared by the current word's strokes

    @property
    def n_strokes(self) -> int:
        return len(self.strokes) + bool(self.open_stroke)

    def add_point(self, xy: np.ndarray, lift: bool, word: int = UNKNOWN_WORD) -> None:
        if not self.open_stroke:
            self._first_words.append(int(word))
        else:
            self.slant.add_move(np.asarray(xy) - self.open_stroke[-1])
        self.open_stroke.append(xy)
        if lift:
            self._close_stroke()
        self._segment()

    def finish(self) -> None:
        """End of input: the open stroke closes and every stroke gets its word."""
        self.done = True
        if self.open_stroke:
            self._close_stroke()
        self._segment()

    def word_extent(self, word: int) -> tuple[float, float] | None:
        """(x_min, x_max) of `word`'s strokes, or None while where it ends is not known yet."""
        start = self.word_starts[word]
        if word + 1 < len(self.word_starts):
            end = self.word_starts[word + 1]
        elif self.done:
            end = len(self.strokes)
        else:
            return None
        return min(self._x_min[start:end]), max(self._x_max[start:end])

    def word_strokes(self, word: int) -> list[np.ndarray]:
        end = self.word_starts[word + 1] if word + 1 < len(self.word_starts) else None
        return self.strokes[self.word_starts[word] : end]

    def _close_stroke(self) -> None:
        stroke = np.array(self.open_stroke)
        self.strokes.append(stroke)
        self._x_min.append(float(stroke[:, 0].min()))
        self._x_max.append(float(stroke[:, 0].max()))
        self.open_stroke = []

    def _segment(self) -> None:
        """Decide, stroke by stroke, whether each starts a new word, as soon as the input allows."""
        while self.n_segmented < self.n_strokes:
            k = self.n_segmented
            starts_word = k > 0 and self._starts_word(k)
            if starts_word is None:
                return
            declared = self._first_words[k]
            if starts_word:
                self.word_starts.append(k)
                self._declared_word = declared
            else:
                self._declared_word = max(self._declared_word, declared)
            self.n_segmented += 1

    def _starts_word(self, k: int) -> bool | None:
        """Whether stroke k starts a new word; None while that is still open."""
        if not self.wrap:
            return False
        declared = self._first_words[k]
        if declared != UNKNOWN_WORD and self._declared_word != UNKNOWN_WORD:
            return declared > self._declared_word
        shear = self.slant.shear
        word = self.strokes[self.word_starts[-1] : k]
        column = max(_across(stroke, shear).max() for stroke in word) + self.word_gap
        following = range(k, min(k + WORD_LOOKAHEAD, self.n_strokes))
        if min(_across(self._stroke(j), shear).min() for j in following) <= column:
            return False
        if self.done or (len(following) == WORD_LOOKAHEAD and following[-1] < len(self.strokes)):
            return True
        return None

    def _stroke(self, j: int) -> np.ndarray:
        return self.strokes[j] if j < len(self.strokes) else np.array(self.open_stroke)


def _across(stroke: np.ndarray, shear: float) -> np.ndarray:
    """The stroke's x measured across the slant: x - shear * y."""
    return stroke[:, 0] - shear * stroke[:, 1]
