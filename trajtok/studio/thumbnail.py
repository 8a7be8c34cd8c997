"""A saved sample's picture for the dataset list: its strokes as the CT loader reads them (so what the page
shows is what training will see), scaled to a box one unit high, thinned to a few points a stroke."""

from __future__ import annotations

import numpy as np

from trajtok.data.cursive_json import record_strokes
from trajtok.errors import DataError

MAX_POINTS_PER_STROKE = 64
MAX_ASPECT = 12.0  # widest box, in heights
DECIMALS = 3


def thumbnail(record: object) -> dict | None:
    """{"width": w, "strokes": [[[x, y], ...], ...]} with x in [0, w], y in [0, 1] growing down (SVG's way);
    None for a record the loader cannot read (the list still names it, so it can be deleted)."""
    try:
        strokes, _, _ = record_strokes(record, "thumbnail")
    except DataError:
        return None
    strokes = [s for s in strokes if len(s)]
    if not strokes:
        return None
    ink = np.concatenate(strokes)
    low, (width, height) = ink.min(axis=0), np.ptp(ink, axis=0)
    scale = max(height, width / MAX_ASPECT, 1e-9)  # a dash is a flat box, not a line a billion units long
    top = (1.0 + height / scale) / 2  # ink less than a unit high sits in the middle
    return {
        "width": round(float(width / scale), DECIMALS),
        "strokes": [_thinned((s - low) / scale * (1.0, -1.0) + (0.0, top)) for s in strokes],
    }


def _thinned(points: np.ndarray) -> list[list[float]]:
    count = min(len(points), MAX_POINTS_PER_STROKE)
    keep = np.unique(np.linspace(0, len(points) - 1, count).round().astype(int))
    return np.round(points[keep], DECIMALS).tolist()
