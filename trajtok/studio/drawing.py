"""A drawing from the pad: pointer samples in canvas pixels -> a cursive-transformer JSON record (what the
dataset stores) -> a Sample in handwriting units, made by the CT loader's own code (what the recognizer and
the writer see of it, exactly as they would see the saved file).

The page sends `{"width": W, "height": H, "strokes": [[[x, y, t_ms, pressure], ...], ...]}` with y growing
down; pressure is 0.5 where the device gives none (the Pointer Events default for a pressed button).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trajtok.data.cursive_json import record_strokes
from trajtok.data.normalize import Limits, SampleSetBuilder
from trajtok.ink_features import MAX_POINTS
from trajtok.sample import Sample
from trajtok.studio.requests import BadRequest

MAX_DRAWING_POINTS = MAX_POINTS  # what the recognizer reads in one sample
MAX_CANVAS_PX = 10_000.0


@dataclass(frozen=True)
class Drawing:
    strokes: list[np.ndarray]  # (N_i, 4) float64: x_px, y_px (down), t_ms, pressure
    width: float
    height: float

    @classmethod
    def parse(cls, body: dict) -> Drawing:
        width, height = (_size(body, key) for key in ("width", "height"))
        strokes = body.get("strokes")
        if not isinstance(strokes, list) or not strokes:
            raise BadRequest(
                "`strokes` must be a non-empty list of strokes, each a list of [x, y, t_ms, pressure]"
            )
        total = sum(len(s) if isinstance(s, list) else 0 for s in strokes)
        if total > MAX_DRAWING_POINTS:
            raise BadRequest(f"the drawing has {total} points; at most {MAX_DRAWING_POINTS} are read", 413)
        parsed = []
        for i, stroke in enumerate(strokes):
            try:
                points = np.asarray(stroke, dtype=np.float64)
            except (TypeError, ValueError):
                raise BadRequest(f"stroke {i}: points must be [x, y, t_ms, pressure] numbers") from None
            if points.ndim != 2 or points.shape[1] != 4 or not len(points):
                raise BadRequest(
                    f"stroke {i}: expected a list of [x, y, t_ms, pressure], got shape {points.shape}"
                )
            if not np.isfinite(points).all():
                raise BadRequest(f"stroke {i}: holds NaN or infinite values")
            parsed.append(points)
        return cls(parsed, width, height)

    def record(self, label: str, author: str | None = None) -> dict:
        """The CT JSON record: points [x / W, y / H, is_pen_down] (0 on each stroke's last point) with
        aspectRatio W / H; the pointer's times and pressures ride along beside the points."""
        rows = []
        for stroke in self.strokes:
            down = np.ones(len(stroke))
            down[-1] = 0.0
            rows.append(np.stack([stroke[:, 0] / self.width, stroke[:, 1] / self.height, down], axis=1))
        points = np.concatenate(rows)
        meta = {"asciiSequence": label, "aspectRatio": round(self.width / self.height, 6)}
        if author is not None:
            meta["author"] = author
        every = np.concatenate(self.strokes)
        return {
            "metadata": meta,
            "points": [[round(x, 6), round(y, 6), int(d)] for x, y, d in points.tolist()],
            "t_ms": [round(t, 1) for t in every[:, 2].tolist()],
            "pressure": [round(p, 3) for p in every[:, 3].tolist()],
        }

    def sample(self, text: str = "") -> Sample:
        """In handwriting units, as `load_source` makes it from the saved record (`text` helps the scale)."""
        return record_sample(self.record(text))


def record_sample(record: dict) -> Sample:
    """One CT record -> its Sample through the CT loader's normalization; BadRequest when it has no ink."""
    strokes, text, author = record_strokes(record, "the drawing")
    builder = SampleSetBuilder("drawing", Limits(max_points=MAX_DRAWING_POINTS, max_jump=math.inf))
    builder.add_strokes(strokes, text, group=author)
    samples = builder.build().samples
    if not samples:
        raise BadRequest("the drawing has no extent (all its points at one spot); draw a word")
    return samples[0]


def _size(body: dict, key: str) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= MAX_CANVAS_PX:
        raise BadRequest(f"`{key}` must be the canvas size in pixels (1 to {MAX_CANVAS_PX:g}), got {value!r}")
    return float(value)
