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


def join_strokes(strokes: list[np.ndarray]) -> np.ndarray:
    """List of (N_i, 2) polylines -> (T, 3) absolute points with pen_lift on each stroke's last point."""
    parts = []
    for stroke in strokes:
        part = np.zeros((len(stroke), 3), dtype=np.float32)
        part[:, :2] = stroke
        part[-1, 2] = 1.0
        parts.append(part)
    return np.concatenate(parts) if parts else np.zeros((0, 3), dtype=np.float32)


def thin_sample(sample: Sample, spacing: float) -> Sample:
    """Keep about one point per `spacing` of ink (handwriting units) along each stroke, and every stroke's
    first and last point; pen lifts and char_index follow the kept points. spacing <= 0 keeps everything.

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
    bucket = np.floor(arc / spacing)
    keep = starts | pen_lift | np.concatenate([[True], bucket[1:] != bucket[:-1]])
    points = integrate(sample.deltas, pen_lift)[keep]
    deltas, lifts = differentiate(points)
    return dataclasses.replace(
        sample,
        deltas=deltas,
        events=np.concatenate([lifts[:, None], sample.events[keep, 1:]], axis=1),
        char_index=None if sample.char_index is None else sample.char_index[keep],
    )
