"""Every real-data loader's last step: strokes in source units -> a Sample in handwriting units, or a drop.

Scale: a sample's x-height is estimated by comparing where its ink lies vertically (arc-length weighted
quantiles of the pen-down path) with where a reference font puts the ink of the same text. This is robust to
ALL-CAPS words, digits and descenders, unlike a plain bounding box. Without text the ink band maps to [0, 1].
Origin: the left edge of the ink on the estimated baseline, so `deltas[0]` is the first point from there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from trajtok.data.glyphs import ink_profile
from trajtok.sample import Sample, SampleSet
from trajtok.strokes import differentiate, join_strokes
from trajtok.text import CharTokenizer, normalize_text

BAND = (0.2, 0.8)  # arc-length quantiles of ink height compared with the reference
TEXTLESS_BAND = (0.0, 1.0)  # where the ink band goes when a sample has no text


@dataclass(frozen=True)
class Limits:
    """Degenerate-sample thresholds, in points and x-heights; samples beyond them are dropped and counted."""

    max_points: int = 4000
    max_jump: float = 30.0  # a single delta longer than this (x-heights) is a glitch, not handwriting


def reference_band(text: str) -> tuple[float, float]:
    """Where a neutral font puts the ink of `text`, in x-heights above the baseline."""
    heights = np.concatenate([ink_profile(c) for c in text] + [np.zeros(0, np.float32)])
    if len(heights) == 0:
        return TEXTLESS_BAND
    lo, hi = np.quantile(heights, BAND)
    return float(lo), float(hi)


def ink_band(points: np.ndarray, n_samples: int = 2048) -> tuple[float, float] | None:
    """(T, 3) absolute [x, y, pen_lift] -> the band of its ink heights, None when the ink is flat or absent.

    The pen-down path is sampled at `n_samples` points evenly spaced along its length, so the band does not
    depend on how densely (or unevenly) the source sampled the pen.
    """
    pen_down = ~points[:-1, 2].astype(bool)  # segment i joins points i, i+1 unless the pen lifts after i
    lengths = np.hypot(*np.diff(points[:, :2], axis=0).T) * pen_down
    s = np.concatenate([[0.0], np.cumsum(lengths)])
    if s[-1] <= 0:
        return None
    heights = np.interp(np.linspace(0.0, s[-1], n_samples), s, points[:, 1])
    lo, hi = np.quantile(heights, BAND)
    return (float(lo), float(hi)) if hi - lo > 1e-9 * max(1.0, abs(hi)) else None


class SampleSetBuilder:
    """Collects normalized samples for one source, counting drops and unknown characters."""

    def __init__(
        self, source: str, limits: Limits | None = None, text_tokenizer: CharTokenizer | None = None
    ):
        self.source = source
        self.limits = limits or Limits()
        self.text_tokenizer = text_tokenizer or CharTokenizer()
        self.samples: list[Sample] = []
        self.dropped: Counter[str] = Counter()
        self.unknown_chars: Counter[str] = Counter()

    def drop(self, reason: str) -> None:
        self.dropped[reason] += 1

    def add_strokes(self, strokes: list[np.ndarray], text: str = "", style_id: int | None = None) -> None:
        """strokes: list of (N_i, 2) pen-down polylines in source units with y UP."""
        strokes = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes]
        points = join_strokes([s for s in strokes if len(s)])
        if len(points) < 2:
            return self.drop("empty")
        if not np.isfinite(points).all():
            return self.drop("non_finite")
        if len(points) > self.limits.max_points:
            return self.drop("too_long")
        text = normalize_text(text)
        band = ink_band(points)
        if band is None:
            return self.drop("flat")
        ref_lo, ref_hi = reference_band(text)
        scale = (ref_hi - ref_lo) / (band[1] - band[0])
        points[:, 0] = (points[:, 0] - points[:, 0].min()) * scale
        points[:, 1] = (points[:, 1] - band[0]) * scale + ref_lo
        deltas, pen_lift = differentiate(points)
        if np.abs(deltas).max() > self.limits.max_jump:
            return self.drop("huge_jump")
        self.unknown_chars.update(self.text_tokenizer.count_unknown([text]))
        self.samples.append(Sample(deltas=deltas, events=pen_lift[:, None], text=text, style_id=style_id))

    def build(self) -> SampleSet:
        return SampleSet(
            samples=self.samples,
            source=self.source,
            dropped=dict(self.dropped),
            unknown_chars=dict(self.unknown_chars),
        )
