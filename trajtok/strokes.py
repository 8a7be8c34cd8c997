"""Deltas + pen lifts <-> absolute points and strokes (handwriting units), and thinning a sample's points."""

from __future__ import annotations

import dataclasses

import numpy as np

from trajtok.sample import Sample


def integrate(deltas: np.ndarray, pen_lift: np.ndarray) -> np.ndarray:
    """(T, 2) deltas + (T,) pen-lift flags -> (T, 3) absolute points [x, y, pen_lift]."""
    points = np.empty((len(deltas), 3), dtype=np.float32)
    points[:, :2] = np.cumsum(deltas, axis=0)
    points[:, 2] = np.asarray(pen_lift, dtype=bool).reshape(-1)
    return points


def differentiate(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 3) absolute [x, y, pen_lift] -> ((T, 2) deltas from the origin, (T,) bool pen lifts)."""
    xy = np.asarray(points[:, :2], dtype=np.float32)
    deltas = np.diff(xy, axis=0, prepend=np.zeros((1, 2), dtype=np.float32))
    return deltas, np.asarray(points[:, 2]).astype(bool)


def split_strokes(points: np.ndarray) -> list[np.ndarray]:
    """(T, 3) absolute points -> list of (N_i, 2) pen-down polylines, one per stroke."""
    if len(points) == 0:
        return []
    ends = np.flatnonzero(points[:, 2] > 0.5) + 1
    return [s[:, :2] for s in np.split(points, ends) if len(s)]


def pen_down_runs(xyz: np.ndarray, pen_down: np.ndarray) -> list[np.ndarray]:
    """(N, D) positions + (N,) pen-down flags -> the (K_i, D) runs of consecutive pen-down positions."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], np.asarray(pen_down).astype(np.int8), [0]])))
    return [xyz[start:end] for start, end in zip(edges[::2], edges[1::2], strict=True)]


def join_strokes(strokes: list[np.ndarray]) -> np.ndarray:
    """List of (N_i, 2) polylines -> (T, 3) absolute points with pen_lift on each stroke's last point."""
    parts = []
    for stroke in strokes:
        part = np.zeros((len(stroke), 3), dtype=np.float32)
        part[:, :2] = stroke
        part[-1, 2] = 1.0
        parts.append(part)
    return np.concatenate(parts) if parts else np.zeros((0, 3), dtype=np.float32)


def thin_sample(sample: Sample, spacing: float, offset: float = 0.0) -> Sample:
    """Keep about one point per `spacing` of ink (handwriting units) along each stroke, and every stroke's
    first and last point; pen lifts, char_index and word_index follow the kept points. spacing <= 0 keeps
    everything.
    `offset` (in [0, spacing)) moves where along the ink the kept points fall.

    Fewer, longer steps per character make sequences several times shorter for the same letter shapes.
    """
    if spacing <= 0 or len(sample) < 3:
        return sample
    pen_lift = sample.events[:, 0]
    starts = np.concatenate([[True], pen_lift[:-1]])  # a point after a lift begins a stroke
    ink = np.hypot(sample.deltas[:, 0], sample.deltas[:, 1])
    ink[starts] = 0.0  # the move to a stroke's first point is a pen-up travel, not ink
    stroke = np.cumsum(starts) - 1
    arc = np.cumsum(ink)
    arc -= arc[np.flatnonzero(starts)][stroke]  # arc length from the start of each point's stroke
    bucket = np.floor((arc + offset) / spacing)
    keep = starts | pen_lift | np.concatenate([[True], bucket[1:] != bucket[:-1]])
    points = integrate(sample.deltas, pen_lift)[keep]
    deltas, lifts = differentiate(points)
    return dataclasses.replace(
        sample,
        deltas=deltas,
        events=np.concatenate([lifts[:, None], sample.events[keep, 1:]], axis=1),
        char_index=None if sample.char_index is None else sample.char_index[keep],
        word_index=None if sample.word_index is None else sample.word_index[keep],
    )


SMOOTH_STEP = 0.05  # handwriting units between the points of a smoothed curve (2 mm at a 4 cm letter height)


def smooth_stroke(xy: np.ndarray, step: float = SMOOTH_STEP) -> np.ndarray:
    """(N, 2) points of one stroke -> (M, 2) points of the centripetal Catmull-Rom curve through them.

    The curve passes through every point (the first and last included), so a pen that follows it touches the
    same places; centripetal parametrization (alpha = 1/2) never forms cusps or loops within a segment, so a
    sparse, sharp polyline becomes a round stroke without overshoot. Segments are sampled about every `step`;
    float32 points give float32, float64 float64.
    """
    dtype = np.result_type(np.asarray(xy).dtype, np.float32)
    xy = np.asarray(xy, dtype=np.float64)
    keep = np.concatenate([[True], np.hypot(*np.diff(xy, axis=0).T) > 1e-12])
    xy = xy[keep]
    if len(xy) < 3:
        return xy.astype(dtype)
    padded = np.vstack([2 * xy[0] - xy[1], xy, 2 * xy[-1] - xy[-2]])  # reflected end points
    knots = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(padded, axis=0).T) ** 0.5)])
    # Segment i runs from padded[i] to padded[i + 1] (i = 1 .. N-1); all segments are evaluated at once:
    # each of its n_i samples (every `step` along the chord) carries the segment's four points and knots.
    counts = np.maximum(1, np.ceil(np.hypot(*np.diff(xy, axis=0).T) / step).astype(np.int64))
    segment = np.repeat(np.arange(1, len(padded) - 2), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + 1  # 1 .. n_i
    p0, p1, p2, p3 = (padded[segment + k] for k in (-1, 0, 1, 2))
    t0, t1, t2, t3 = (knots[segment + k][:, None] for k in (-1, 0, 1, 2))
    t = t1 + (t2 - t1) * (within / np.repeat(counts, counts))[:, None]
    a1 = ((t1 - t) * p0 + (t - t0) * p1) / (t1 - t0)
    a2 = ((t2 - t) * p1 + (t - t1) * p2) / (t2 - t1)
    a3 = ((t3 - t) * p2 + (t - t2) * p3) / (t3 - t2)
    b1 = ((t2 - t) * a1 + (t - t0) * a2) / (t2 - t0)
    b2 = ((t3 - t) * a2 + (t - t1) * a3) / (t3 - t1)
    curve = ((t2 - t) * b1 + (t - t1) * b2) / (t2 - t1)
    ends = np.cumsum(counts) - 1
    curve[ends] = xy[1:]  # exactly through the points
    return np.concatenate([xy[:1], curve]).astype(dtype)


def turning_deg_per_mm(strokes: list[np.ndarray], mm_per_unit: float, step_mm: float = 1.0) -> float:
    """Smoothness of ink: the root-mean-square turning angle between successive `step_mm` steps along the
    strokes, in degrees per mm (an RMS curvature). The total turning is the shape's either way; a polyline
    through sparse points does it all at once at its corners, a smooth curve a little at every step, so lower
    is smoother (a circle of radius R mm: 57.3 / R)."""
    turns = []
    for stroke in strokes:
        xy = np.asarray(stroke, dtype=np.float64) * mm_per_unit
        arc = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
        if arc[-1] < 3 * step_mm:
            continue
        at = np.arange(0.0, arc[-1], step_mm)
        resampled = np.c_[np.interp(at, arc, xy[:, 0]), np.interp(at, arc, xy[:, 1])]
        angles = np.unwrap(np.arctan2(*np.diff(resampled, axis=0).T[::-1]))
        turns.append(np.diff(angles))
    if not turns:
        return 0.0
    return float(np.degrees(np.sqrt(np.mean(np.concatenate(turns) ** 2))) / step_mm)


def is_thin(sample: Sample, spacing: float) -> bool:
    """Whether the pen moves at least half `spacing` between most points (the median) while drawing."""
    pen_lift = sample.events[:, 0].astype(bool)
    drawing = ~np.concatenate([[True], pen_lift[:-1]])  # moves within a stroke, not the travel into it
    moves = np.hypot(*sample.deltas[drawing].T)
    return len(moves) > 0 and float(np.median(moves)) >= 0.5 * spacing


def thin_once(sample: Sample, spacing: float) -> Sample:
    """`sample` thinned as `thin_sample` thins training data, unless it already is (`is_thin`: e.g. ink a
    model wrote, or a reference thinned before): thinning is not idempotent, a second pass drops points."""
    return sample if is_thin(sample, spacing) else thin_sample(sample, spacing)
