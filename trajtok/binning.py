"""Per-dimension bins for continuous deltas: fit edges from data, map values <-> bin indices.

A `Bins` holds `n` bins over one dimension: bin k is the interval [edges[k], edges[k+1]] and decodes to
`values[k]`, the mean of the training values that fell into it (the mid-point only for a bin no training
value reached), so every decoded value lies inside its own bin. Values outside [edges[0], edges[-1]] land in
the outer bins (the caller counts them as clipped). Edges and values are float32 numbers so that float32
deltas compare against exactly the edges that are saved.

Schemes:
- `uniform`: equal-width bins over the 1st..99th percentile (the RT-2 / OpenVLA baseline; the rest clips).
- `quantile`: equal-count bins over the full range.
- `adaptive`: fine uniform bins near zero where most motion is, log-spaced tails out to the extremes, then
  sparse bins are merged and dense bins split until the counts are balanced (a bin holding one repeated value,
  such as exact zeros, cannot be split and keeps its count).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCHEMES = ("adaptive", "uniform", "quantile")

UNIFORM_CLIP_PERCENTILES = (1.0, 99.0)  # the range RT-2 / OpenVLA discretize over
ADAPTIVE_CORE_QUANTILE = 0.9  # |x| below this quantile of |x| gets the fine uniform core bins
ADAPTIVE_MERGE_BELOW = 0.25  # a bin with fewer than this fraction of the mean count gets merged


@dataclass(frozen=True)
class Bins:
    edges: np.ndarray  # (n + 1,) float32, non-decreasing; bin k = [edges[k], edges[k + 1]]
    values: np.ndarray  # (n,) float32 decoded value of each bin, edges[k] <= values[k] <= edges[k + 1]
    counts: np.ndarray  # (n,) int64 training values per bin

    @property
    def n_bins(self) -> int:
        return len(self.values)

    def index(self, x: np.ndarray) -> np.ndarray:
        """Bin index (same shape as x, int64) of each value; values beyond the range go to the outer bins."""
        return np.searchsorted(self.edges[1:-1], x, side="right")

    def n_outside(self, x: np.ndarray) -> int:
        """How many values lie outside [edges[0], edges[-1]] (and so clip to an outer bin)."""
        return int(np.count_nonzero((x < self.edges[0]) | (x > self.edges[-1])))

    def to_dict(self) -> dict:
        return {"edges": self.edges.tolist(), "values": self.values.tolist(), "counts": self.counts.tolist()}

    @classmethod
    def from_dict(cls, data: dict, n_bins: int) -> Bins:
        edges = np.asarray(data["edges"], dtype=np.float32)
        values = np.asarray(data["values"], dtype=np.float32)
        counts = np.asarray(data["counts"], dtype=np.int64)
        if edges.shape != (n_bins + 1,) or values.shape != (n_bins,) or counts.shape != (n_bins,):
            raise ValueError(f"expected {n_bins + 1} edges and {n_bins} values/counts")
        if not (np.all(np.isfinite(edges)) and np.all(np.diff(edges) >= 0)):
            raise ValueError("edges must be finite and non-decreasing")
        if not (np.all(values >= edges[:-1]) and np.all(values <= edges[1:])):
            raise ValueError("each value must lie inside its bin")
        return cls(edges, values, counts)


def fit_bins(x: np.ndarray, n_bins: int, scheme: str = "adaptive") -> Bins:
    """Fit `n_bins` bins to the finite 1-D sample `x` with the named scheme."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown bin scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    if n_bins < 2:
        raise ValueError(f"n_bins must be at least 2, got {n_bins}")
    x = np.sort(np.asarray(x, dtype=np.float32).ravel())
    if len(x) == 0:
        raise ValueError("cannot fit bins to no values")
    if scheme == "uniform":
        lo, hi = np.percentile(x, UNIFORM_CLIP_PERCENTILES)
        edges = np.linspace(lo, hi, n_bins + 1)
    elif scheme == "quantile":
        edges = np.quantile(x, np.linspace(0.0, 1.0, n_bins + 1))
    else:
        edges = _adaptive_edges(x, n_bins)
    return bins_from_edges(x, edges)


def bins_from_edges(x_sorted: np.ndarray, edges: np.ndarray) -> Bins:
    """Bins with the given edges whose values are the means of the (range-clipped) sorted sample."""
    edges = np.maximum.accumulate(np.asarray(edges, dtype=np.float32))
    x = np.clip(x_sorted, edges[0], edges[-1])
    starts = np.searchsorted(x, edges[:-1], side="left")
    starts[0] = 0
    stops = np.append(starts[1:], len(x))
    counts = (stops - starts).astype(np.int64)
    cumulative = np.concatenate([[0.0], np.cumsum(x, dtype=np.float64)])
    sums = cumulative[stops] - cumulative[starts]
    means = np.where(counts > 0, sums / np.maximum(counts, 1), 0.5 * (edges[:-1] + edges[1:]))
    values = np.clip(means.astype(np.float32), edges[:-1], edges[1:])
    return Bins(edges, values, counts)


def _adaptive_edges(x: np.ndarray, n_bins: int) -> np.ndarray:
    """Uniform core + log tails, then rebalanced by merging sparse and splitting dense bins."""
    lo, hi = float(x[0]), float(x[-1])
    if hi - lo <= 0.0:
        return np.full(n_bins + 1, lo)
    edges = _core_and_log_tails(x, n_bins, lo, hi)
    return _balance_counts(x, edges)


def _core_and_log_tails(x: np.ndarray, n_bins: int, lo: float, hi: float) -> np.ndarray:
    """Initial edges: half the bins uniform over [-c, c] (c = a high quantile of |x|), the rest log-spaced
    out to each extreme, shared between the two tails in proportion to how much data each holds."""
    core = float(np.quantile(np.abs(x), ADAPTIVE_CORE_QUANTILE))
    core_lo, core_hi = max(lo, -core), min(hi, core)
    if core_hi <= core_lo:
        return np.linspace(lo, hi, n_bins + 1)
    n_neg_tail_values = np.searchsorted(x, core_lo, side="left")
    n_pos_tail_values = len(x) - np.searchsorted(x, core_hi, side="right")
    n_tail_bins = n_bins // 2 if (n_neg_tail_values + n_pos_tail_values) else 0
    neg_share = n_neg_tail_values / max(n_neg_tail_values + n_pos_tail_values, 1)
    n_neg = int(round(n_tail_bins * neg_share)) if n_neg_tail_values else 0
    n_pos = n_tail_bins - n_neg if n_pos_tail_values else 0
    if n_neg_tail_values and n_pos_tail_values:
        n_neg, n_pos = max(n_neg, 1), max(n_pos, 1)
        n_neg = min(n_neg, n_tail_bins - 1)
        n_pos = n_tail_bins - n_neg
    n_core = n_bins - n_neg - n_pos
    parts = [np.linspace(core_lo, core_hi, n_core + 1)]
    if n_neg:
        parts.insert(0, -_log_spaced(-core_lo, -lo, n_neg)[::-1][:-1])
    if n_pos:
        parts.append(_log_spaced(core_hi, hi, n_pos)[1:])
    return np.concatenate(parts)


def _log_spaced(start: float, stop: float, n: int) -> np.ndarray:
    """n + 1 points from start to stop (both > 0 or start == 0), geometrically spaced."""
    start = max(start, stop * 1e-6)
    return np.geomspace(start, stop, n + 1)


def _balance_counts(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Merge the sparsest bin into its sparser neighbour and split the densest splittable bin at its median,
    while the sparsest bin holds fewer than ADAPTIVE_MERGE_BELOW x the mean count and the trade evens the
    counts out. The bin count stays the same."""
    edges = np.asarray(edges, dtype=np.float64)
    n_bins = len(edges) - 1
    floor = ADAPTIVE_MERGE_BELOW * len(x) / n_bins
    for _ in range(4 * n_bins):
        counts = _counts(x, edges)
        sparsest = int(np.argmin(counts))
        if counts[sparsest] >= floor:
            break
        splittable = _splittable(x, edges)
        if not splittable.any():
            break
        densest = int(np.argmax(np.where(splittable, counts, -1)))
        if sparsest == 0:
            neighbour = 1
        elif sparsest == n_bins - 1:
            neighbour = n_bins - 2
        else:
            neighbour = sparsest - 1 if counts[sparsest - 1] <= counts[sparsest + 1] else sparsest + 1
        if densest in (sparsest, neighbour) or counts[densest] <= 2 * (counts[sparsest] + counts[neighbour]):
            break  # trading this merge for that split would not make the counts any more even
        median = _split_point(x, edges[densest], edges[densest + 1])
        drop = max(sparsest, neighbour)  # the edge between the two merged bins
        edges = np.sort(np.append(np.delete(edges, drop), median))
    return edges


def _counts(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    starts = np.searchsorted(x, edges[:-1], side="left")
    starts[0] = 0
    return np.diff(np.append(starts, len(x)))


def _splittable(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Whether each bin holds at least two distinct values (so some split point separates them)."""
    starts = np.searchsorted(x, edges[:-1], side="left")
    starts[0] = 0
    stops = np.append(starts[1:], len(x))
    nonempty = stops > starts
    first = x[np.minimum(starts, len(x) - 1)]
    last = x[np.maximum(stops - 1, 0)]
    return nonempty & (last > first)


def _split_point(x: np.ndarray, left: float, right: float) -> float:
    """A point strictly inside the values of [left, right) that splits them as evenly as ties allow."""
    inside = x[np.searchsorted(x, left, side="left") : np.searchsorted(x, right, side="left")]
    median = inside[len(inside) // 2]
    if median <= inside[0]:  # the lower half is all one value: split just above it
        median = inside[np.searchsorted(inside, inside[0], side="right")]
    return float(median)
