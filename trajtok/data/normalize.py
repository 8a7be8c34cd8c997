"""Every real-data loader's last step: strokes in source units -> a Sample in handwriting units, or a drop.

Scale: a sample's x-height is estimated by comparing where its ink lies vertically (arc-length weighted
quantiles of the pen-down path) with where a reference font puts the ink of the same text. This is robust to
ALL-CAPS words, digits and descenders, unlike a plain bounding box. Without text the ink spans about [0, 1].
Samples of one writer can share a scale (see SampleSetBuilder). Origin: the left edge of the ink, on the
estimated baseline, so `deltas[0]` is the first point from there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from trajtok.data.glyphs import ink_profile
from trajtok.sample import Sample, SampleSet
from trajtok.strokes import differentiate, join_strokes
from trajtok.text import CharTokenizer, normalize_text

BAND = (0.15, 0.6)  # quantiles of ink height compared with the reference (lower: less ascender-bound)
TEXTLESS_BAND = BAND  # without text, ink quantile q goes to height q: evenly spread ink spans [0, 1]


@dataclass(frozen=True)
class Limits:
    """Degenerate-sample thresholds, in points and x-heights; samples beyond them are dropped and counted."""

    max_points: int = 4000
    max_jump: float = 30.0  # a single delta longer than this (x-heights) is a glitch, not handwriting


LIMIT_OPTIONS = ("max_points", "max_jump")  # the Limits fields: the options of every handwriting format


def _band(heights: np.ndarray) -> tuple[float, float]:
    """The BAND quantiles of heights (nearest rank: a sort is cheaper than np.quantile's interpolation)."""
    ordered = np.sort(heights)
    lo, hi = (np.array(BAND) * (len(ordered) - 1)).round().astype(int)
    return float(ordered[lo]), float(ordered[hi])


def reference_band(text: str) -> tuple[float, float]:
    """Where a neutral font puts the ink of `text`, in x-heights above the baseline."""
    heights = np.concatenate([ink_profile(c) for c in text] + [np.zeros(0, np.float32)])
    if len(heights) == 0:
        return TEXTLESS_BAND
    return _band(heights)


def ink_band(points: np.ndarray, n_samples: int = 1024) -> tuple[float, float] | None:
    """(T, 3) absolute [x, y, pen_lift] -> the band of its ink heights, None when the ink is flat or absent.

    The pen-down path is sampled at `n_samples` points evenly spaced along its length, so the band does not
    depend on how densely (or unevenly) the source sampled the pen.
    """
    pen_down = ~points[:-1, 2].astype(bool)  # segment i joins points i, i+1 unless the pen lifts after i
    lengths = np.hypot(*np.diff(points[:, :2], axis=0).T) * pen_down
    s = np.concatenate([[0.0], np.cumsum(lengths)])
    if s[-1] <= 0:
        return None
    lo, hi = _band(np.interp(np.linspace(0.0, s[-1], n_samples), s, points[:, 1]))
    return (lo, hi) if hi - lo > 1e-9 * max(1.0, abs(hi)) else None


@dataclass
class _Pending:
    points: np.ndarray  # (T, 3) absolute [x, y, pen_lift], source units, y up
    text: str
    style_id: int | None
    group: str | None
    band: tuple[float, float]  # measured ink band, source units
    reference: tuple[float, float]  # where that ink should lie, x-heights

    @property
    def scale(self) -> float:
        return (self.reference[1] - self.reference[0]) / (self.band[1] - self.band[0])


class SampleSetBuilder:
    """Collects normalized samples for one source, counting drops and unknown characters.

    Samples added with the same `group` (one writer: an author, a form) share one scale, the median of their
    own estimates, which is steadier than any single short text and keeps the writer's proportions.
    """

    def __init__(
        self, source: str, limits: Limits | None = None, text_tokenizer: CharTokenizer | None = None
    ):
        self.source = source
        self.limits = limits or Limits()
        self.text_tokenizer = text_tokenizer or CharTokenizer()
        self.pending: list[_Pending] = []
        self.dropped: Counter[str] = Counter()

    def drop(self, reason: str) -> None:
        self.dropped[reason] += 1

    def add_strokes(
        self, strokes: list[np.ndarray], text: str = "", style_id: int | None = None, group: str | None = None
    ) -> None:
        """strokes: list of (N_i, 2) pen-down polylines in source units with y UP."""
        strokes = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes]
        points = join_strokes([s for s in strokes if len(s)]).astype(np.float64)
        if len(points) < 2:
            return self.drop("empty")
        if not np.isfinite(points).all():
            return self.drop("non_finite")
        if len(points) > self.limits.max_points:
            return self.drop("too_long")
        band = ink_band(points)
        if band is None:
            return self.drop("flat")
        text = normalize_text(text)
        self.pending.append(_Pending(points, text, style_id, group, band, reference_band(text)))

    def build(self) -> SampleSet:
        log_scales: dict[str, list[float]] = {}
        for p in self.pending:
            if p.group is not None:
                log_scales.setdefault(p.group, []).append(np.log(p.scale))
        group_scale = {g: float(np.exp(np.median(v))) for g, v in log_scales.items()}
        samples, unknown = [], Counter()
        for p in self.pending:
            scale = group_scale[p.group] if p.group is not None else p.scale
            points = p.points.copy()
            points[:, 0] = (points[:, 0] - points[:, 0].min()) * scale
            points[:, 1] = (points[:, 1] - sum(p.band) / 2) * scale + sum(p.reference) / 2
            deltas, pen_lift = differentiate(points)
            if np.hypot(deltas[:, 0], deltas[:, 1]).max() > self.limits.max_jump:
                self.drop("huge_jump")
                continue
            unknown.update(self.text_tokenizer.count_unknown([p.text]))
            samples.append(Sample(deltas=deltas, events=pen_lift[:, None], text=p.text, style_id=p.style_id))
        return SampleSet(
            samples=samples, source=self.source, dropped=dict(self.dropped), unknown_chars=dict(unknown)
        )
