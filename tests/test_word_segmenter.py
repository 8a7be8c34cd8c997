"""Where the board finds words in strokes that do not declare them: gaps measured across the hand's slant."""

from __future__ import annotations

import numpy as np
import pytest

from trajtok.word_segmenter import Slant, WordSegmenter


def bar(x: float, shear: float) -> np.ndarray:
    """A stroke from (x, 0) up to two units high, leaning `shear` units right per unit up."""
    y = np.linspace(0.0, 2.0, 10)
    return np.column_stack([x + shear * y, y])


def words_of(strokes: list[np.ndarray], word_gap: float = 0.8) -> list[int]:
    segmenter = WordSegmenter(wrap=True, word_gap=word_gap)
    for stroke in strokes:
        for j, xy in enumerate(stroke):
            segmenter.add_point(xy, lift=j == len(stroke) - 1)
    segmenter.finish()
    return segmenter.word_starts


def line(shear: float, word_step: float) -> list[np.ndarray]:
    """Four words of three letters 0.5 apart, each word `word_step` right of the one before."""
    return [bar(word_step * w + 0.5 * i, shear) for w in range(4) for i in range(3)]


def test_a_slanted_hands_words_are_found_across_its_slant():
    # leaning 0.3, a word's tops reach 0.6 past its last letter's foot: upright, only 0.4 of the 1.0
    # between the words is blank, less than word_gap; across the slant, all of it
    assert words_of(line(shear=0.3, word_step=2.0)) == [0, 3, 6, 9]
    assert words_of(line(shear=0.0, word_step=1.4)) == [0]  # upright words 0.4 apart still run together


def test_the_slant_is_the_median_lean_of_the_near_vertical_pen_moves():
    slant = Slant()
    assert slant.shear == 0.0  # nothing seen yet
    for stroke in line(shear=0.3, word_step=2.0):
        for delta in np.diff(stroke, axis=0):
            slant.add_move(delta)
    slant.add_move(np.array([1.0, 0.1]))  # a join, far from vertical: not counted
    assert slant.shear == pytest.approx(0.3, abs=0.01)
