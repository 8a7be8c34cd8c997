"""Deltas + pen lifts <-> absolute points and strokes (handwriting units)."""

from __future__ import annotations

import numpy as np


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
