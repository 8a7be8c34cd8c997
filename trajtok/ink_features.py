"""What the recognizer reads: a sample's strokes re-sampled at equal steps along the ink, as feature rows.

Sources sample the pen very differently (the synthetic hand slows down in curves, tablets sample in time,
`trajtok write` emits ~10 thinned steps per letter), so the recognizer reads the ink's shape, not the
source's timing: every stroke is re-sampled every `step` x-heights of arc length (its first and last point
always kept, a dot stays one point). Each re-sampled point becomes one row of FEATURES:

    dx, dy      the move from the previous point within the stroke, divided by `step` (|.| <= 1); 0 at a
                stroke's first point
    y           height above the baseline (x-heights): case and descenders need the absolute height
    pen_down    0 at a stroke's first point (reached with the pen up), else 1
    tx, ty      the pen-up travel into a stroke's first point (x-heights, clipped to +-TRAVEL_CLIP); else 0

`check_ink` names what makes a sample unreadable (no points, a single point, NaN/inf, too many points).
"""

from __future__ import annotations

import numpy as np

from trajtok.sample import Sample
from trajtok.strokes import integrate

FEATURES = ("dx", "dy", "y", "pen_down", "tx", "ty")
TRAVEL_CLIP = 20.0
MAX_POINTS = 20_000  # raw points in one sample: a long text line has ~2,000; more is a page, split it


def check_ink(sample: Sample, max_points: int = MAX_POINTS) -> str | None:
    """Why `sample` cannot be read (one phrase, ending in what to do), or None when it can."""
    n = len(sample)
    if n == 0:
        return "no points (empty strokes); nothing to read"
    if n == 1:
        return "a single point; nothing to read (give at least two points)"
    if sample.deltas.ndim != 2 or sample.deltas.shape[1] != 2:
        return f"deltas of shape {sample.deltas.shape}; the recognizer reads 2-D pen strokes (dx, dy)"
    bad = ~np.isfinite(sample.deltas).all(axis=1)
    if bad.any():
        return f"NaN/inf at point {int(np.flatnonzero(bad)[0])}; fix or drop the sample"
    if n > max_points:
        return f"{n} points, more than the {max_points} one sample may have; split it into lines"
    return None


def resample_points(points: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """(T, 3) absolute [x, y, pen_lift] -> ((N, 2) re-sampled xy, (N,) bool: the point starts a stroke).

    All strokes at once: each point gets an arc-length coordinate along its own stroke, shifted past the
    strokes before it (plus a gap of 1, so strokes never meet), and every stroke is sampled at
    ceil(length / step) + 1 equally spaced coordinates of its own span.
    """
    xy = points[:, :2].astype(np.float64)
    if not len(xy):
        return np.zeros((0, 2)), np.zeros(0, dtype=bool)
    lifts = points[:, 2] > 0.5
    starts = np.concatenate([[True], lifts[:-1]])
    stroke = np.cumsum(starts) - 1
    seg = np.concatenate([[0.0], np.hypot(*np.diff(xy, axis=0).T)])
    seg[starts] = 0.0
    arc = np.cumsum(seg)
    first = np.flatnonzero(starts)
    last = np.concatenate([first[1:] - 1, [len(xy) - 1]])
    lengths = arc[last] - arc[first]
    offsets = np.cumsum(np.concatenate([[0.0], lengths[:-1] + 1.0]))
    coordinate = arc - arc[first][stroke] + offsets[stroke]
    counts = np.ceil(lengths / step).astype(np.int64) + 1  # points per stroke, both ends included
    counts[lengths <= 0] = 1
    owner = np.repeat(np.arange(len(first)), counts)
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    query = offsets[owner] + k * (lengths / np.maximum(counts - 1, 1))[owner]
    out = np.stack([np.interp(query, coordinate, xy[:, 0]), np.interp(query, coordinate, xy[:, 1])], axis=1)
    return out, k == 0


def features_from_points(points: np.ndarray, step: float) -> np.ndarray:
    """(T, 3) absolute [x, y, pen_lift] -> (N, len(FEATURES)) float32 rows (see the module docstring)."""
    xy, starts = resample_points(points, step)
    moves = np.diff(xy, axis=0, prepend=np.zeros((1, 2)))
    out = np.zeros((len(xy), len(FEATURES)), dtype=np.float32)
    out[:, 0:2] = np.where(starts[:, None], 0.0, moves / step)
    out[:, 2] = xy[:, 1]
    out[:, 3] = ~starts
    out[:, 4:6] = np.where(starts[:, None], np.clip(moves, -TRAVEL_CLIP, TRAVEL_CLIP), 0.0)
    return out


def ink_features(sample: Sample, step: float) -> np.ndarray:
    """A readable sample (see check_ink) -> (N, len(FEATURES)) float32 feature rows."""
    return features_from_points(integrate(sample.deltas, sample.events[:, 0]), step)
