"""Several written lines on one page, one below the other: a phrase wrapped onto lines (text.wrap_text)
or several phrases. Line i's origin is `i * LINE_SPACING` below the first's, and every line ends with a pen
lift, so lines never join.

`stack_lines` lays out whole lines' points (`trajtok write`); `StackedSteps` does the same to a stream of
steps as they are generated (the studio), without waiting for a line to end.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import numpy as np

LINE_SPACING = 3.0  # handwriting units (x-heights) between the baselines of stacked lines

Step = tuple[np.ndarray, np.ndarray]  # (delta (D,), events (E,)), events[0] = the pen lifts after it


def stack_lines(phrases: list[np.ndarray]) -> np.ndarray:
    """Lines (T_i, 3) absolute points, each at its own origin -> one page (T, 3)."""
    lines = []
    for i, points in enumerate(phrases):
        line = points.copy()
        line[:, 1] -= i * LINE_SPACING
        if len(line):
            line[-1, 2] = 1.0
        lines.append(line)
    return np.concatenate(lines) if lines else np.zeros((0, 3), np.float32)


class StackedSteps:
    """Step streams of lines written one after the other -> one stream of page steps: each line's first
    step also travels from where the pen stopped to that line's origin, and its last step lifts the pen.

    A step is passed on once the next one (or the line's end) shows whether it is the line's last: one step
    of delay. `steps_of` counts what each line wrote. Closing the stream closes the line being written."""

    def __init__(self):
        self.position = np.zeros(2)
        self.steps_of: list[int] = []

    def lines(self, streams: Iterable[Iterable[Step]]) -> Iterator[Step]:
        for i, stream in enumerate(streams):
            origin = np.array([0.0, -i * LINE_SPACING])
            held: Step | None = None
            self.steps_of.append(0)
            with contextlib.closing(iter(stream)) as steps:
                for delta, events in steps:
                    if held is not None:
                        yield held
                    delta = np.array(delta, dtype=np.float32)
                    if held is None:  # the line's first step: from the pen to the line's origin, then its own
                        delta[:2] += origin - self.position
                    self.position = self.position + delta[:2]
                    self.steps_of[-1] += 1
                    held = (delta, events)
            if held is not None:
                lifted = np.array(held[1], dtype=bool)
                lifted[0] = True
                yield held[0], lifted
