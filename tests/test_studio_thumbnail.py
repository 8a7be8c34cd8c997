"""The dataset list's pictures: a saved record's ink as the CT loader reads it, one unit high, y down."""

from __future__ import annotations

import numpy as np

from trajtok.studio.thumbnail import MAX_ASPECT, MAX_POINTS_PER_STROKE, thumbnail


def record(points, aspect=2.0):
    return {"metadata": {"asciiSequence": "x", "aspectRatio": aspect}, "points": points}


def test_the_ink_fills_a_box_one_unit_high_with_y_growing_down():
    # page units, y down: a stroke from the top left to the bottom right, then a dot at the top right
    picture = thumbnail(record([[0.1, 0.2, 1], [0.3, 0.6, 0], [0.5, 0.2, 0]]))
    first, dot = picture["strokes"]
    assert first == [[0, 0], [1, 1]]  # x times the aspect ratio: 0.2 * 2 wide, 0.4 high
    assert dot == [[2, 0]]
    assert picture["width"] == 2


def test_long_strokes_are_thinned_keeping_their_ends():
    xs = np.linspace(0, 1, 500)
    picture = thumbnail(record([[x, x, 1] for x in xs[:-1]] + [[1.0, 1.0, 0]], aspect=1.0))
    (stroke,) = picture["strokes"]
    assert len(stroke) == MAX_POINTS_PER_STROKE
    assert stroke[0] == [0, 0] and stroke[-1] == [1, 1]


def test_a_record_the_loader_cannot_read_has_no_picture():
    assert thumbnail({"metadata": {}, "points": []}) is None
    assert thumbnail(record([])) is None
    assert thumbnail(record([[0, 0], [1, 1]])) is None


def test_a_flat_stroke_is_a_box_of_bounded_width_with_its_ink_in_the_middle():
    picture = thumbnail(record([[0.1, 0.5, 1], [0.9, 0.5, 0]], aspect=1.0))  # a dash, zero height
    assert picture["width"] == MAX_ASPECT
    assert picture["strokes"] == [[[0, 0.5], [MAX_ASPECT, 0.5]]]
