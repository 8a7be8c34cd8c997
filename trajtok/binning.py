"""Per-dimension bins for continuous deltas: fit edges from data, map values <-> bin indices.

A `Bins` holds `n` bins over one dimension: bin k is the interval [edges[k], edges[k+1]] and decodes to
`values[k]`, the mean of the training values that fell into it (the mid-point only for a bin no training
value reached), so every decoded value lies inside its own bin. Values outside [edges[0], edges[-1]] land in
the outer bins (the caller counts them as clipped). Edges and values are float32 numbers so that float32
deltas compare against exactly the edges that are saved.

Schemes:
- `uniform`: equal-width bins over the 1st..99th percentile (the RT-2 / OpenVLA baseline; the rest clips).
- `quantile`: equal-count bins over the full range.
- `adaptive`: fine uniform bins near zero where most motion is, log-spaced tails out to the extremes; bins
  with too few values (< ADAPTIVE_MIN_SHARE) are merged, then the bin holding the most squared error is split
  at its best point while the two neighbours whose merge costs least are merged, as long as such a trade
  lowers the total squared error (so the error, rather than the count, ends up balanced across bins: balancing
  counts alone spends the bins on the crowded core and leaves the rare large moves, such as pen-up travel, in
  a few huge tail bins); then Lloyd-Max iterations (1-D k-means) from there to convergence, the outer edges
  kept at the extremes and every bin above ADAPTIVE_LLOYD_MIN_SHARE, which brings the RMSE to about the
  Lloyd-Max limit (`lloyd_max_rmse`, the best any scalar quantizer of that many levels does on the data).
  Boundaries only fall between distinct values, so a pile of exact zeros stays one bin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCHEMES = ("adaptive", "uniform", "quantile")

UNIFORM_CLIP_PERCENTILES = (1.0, 99.0)  # the range RT-2 / OpenVLA discretize over
ADAPTIVE_CORE_QUANTILE = 0.9  # |x| below this quantile of |x| gets the fine uniform core bins
ADAPTIVE_MIN_SHARE = 0.0005  # no adaptive bin holds fewer values than this share (its token needs examples)
ADAPTIVE_MAX_TRADES = 20  # at most this many merge/split trades per bin
# Lloyd may thin a tail bin down to this share: the sparse-bin floor above holds adaptive-24 at 1.6x the
# Lloyd-Max RMSE on the embedded corpus, this one at about 1.0x (bench/action_tokenizers.py)
ADAPTIVE_LLOYD_MIN_SHARE = 0.00002
ADAPTIVE_LLOYD_ITERATIONS = (
    100_000  # then Lloyd-Max iterations toward the optimal quantizer (fewer if converged)
)


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
    """Uniform core + log tails, sparse bins merged, then merge/split trades while they lower the error."""
    x = x.astype(np.float64)
    starts_of_values = np.flatnonzero(x[1:] > x[:-1]) + 1  # where each distinct value after the first begins
    if len(starts_of_values) < n_bins:  # no more distinct values than bins: one bin each
        return _pad_edges(_edges_from_bounds(x, starts_of_values), n_bins)
    min_count = max(1, int(ADAPTIVE_MIN_SHARE * len(x)))
    initial = _core_and_log_tails(x, n_bins, float(x[0]), float(x[-1]))
    bounds = np.unique(np.searchsorted(x, initial[1:-1], side="left"))
    bounds = _merge_sparse(bounds[(bounds > 0) & (bounds < len(x))].tolist(), len(x), min_count)
    bounds = _trade_bins(x, bounds, n_bins, min_count)
    edges = _pad_edges(_edges_from_bounds(x, np.asarray(bounds, dtype=np.int64)), n_bins)
    lloyd_min_count = max(1, int(ADAPTIVE_LLOYD_MIN_SHARE * len(x)))
    return _lloyd(x, edges, lloyd_min_count, ADAPTIVE_LLOYD_ITERATIONS).edges


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


def _merge_sparse(bounds: list[int], n_values: int, min_count: int) -> list[int]:
    """Merge the sparsest bin into its sparser neighbour until every bin holds at least `min_count` values.
    `bounds` are the inner bin boundaries as indices into the sorted values (bin k = x[B[k]:B[k+1]])."""
    while bounds:
        counts = np.diff([0, *bounds, n_values])
        k = int(np.argmin(counts))
        if counts[k] >= min_count:
            break
        if k == 0 or (k < len(counts) - 1 and counts[k + 1] <= counts[k - 1]):
            del bounds[k]  # merge with the bin on the right
        else:
            del bounds[k - 1]
    return bounds


def _trade_bins(x: np.ndarray, bounds: list[int], n_bins: int, min_count: int) -> list[int]:
    """Split the bin holding the most squared error (at its best point) and merge the two neighbours whose
    merge costs the least, while that trade lowers the total squared error; first split up to `n_bins`.
    Every bin keeps at least `min_count` values; boundaries only fall between distinct values."""
    sse = _SquaredError(x)
    best_splits: dict[tuple[int, int], tuple[float, int]] = {}
    for _ in range(ADAPTIVE_MAX_TRADES * n_bins):
        full = np.array([0, *bounds, len(x)])
        splits = []
        for a, b in zip(full[:-1], full[1:], strict=True):
            if (a, b) not in best_splits:
                best_splits[(a, b)] = sse.best_split(a, b, min_count)
            splits.append(best_splits[(a, b)])
        gains = np.array([gain for gain, _ in splits])
        split = int(np.argmax(gains))
        if gains[split] <= 0.0:
            break
        if len(full) - 1 < n_bins:
            bounds = sorted([*bounds, splits[split][1]])
            continue
        costs = sse(full[:-2], full[2:]) - sse(full[:-2], full[1:-1]) - sse(full[1:-1], full[2:])
        costs[max(split - 1, 0) : split + 1] = np.inf  # the merge must not involve the bin being split
        merge = int(np.argmin(costs))
        if gains[split] <= costs[merge] + 1e-12 * sse.total:
            break
        bounds = sorted([*(b for i, b in enumerate(bounds) if i != merge), splits[split][1]])
    return bounds


class _SquaredError:
    """Sum of squared deviations from the mean of sorted values x[a:b], from prefix sums (vectorized)."""

    def __init__(self, x: np.ndarray):
        self.x = x
        centered = x - x.mean()
        self.sum = np.concatenate([[0.0], np.cumsum(centered)])
        self.sum_sq = np.concatenate([[0.0], np.cumsum(centered**2)])
        self.total = float(self(np.array([0]), np.array([len(x)]))[0])

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        n = np.maximum(b - a, 1)
        s = self.sum[b] - self.sum[a]
        return np.maximum(self.sum_sq[b] - self.sum_sq[a] - s * s / n, 0.0)

    def best_split(self, a: int, b: int, min_count: int) -> tuple[float, int]:
        """(error saved, boundary) of the best split of x[a:b] into two parts of >= min_count values each,
        between distinct values; (0.0, -1) when there is none."""
        k = np.arange(a + min_count, b - min_count + 1)
        k = k[self.x[k - 1] < self.x[k]]
        if len(k) == 0:
            return 0.0, -1
        parts = self(np.full_like(k, a), k) + self(k, np.full_like(k, b))
        best = int(np.argmin(parts))
        return float(self(np.array([a]), np.array([b]))[0] - parts[best]), int(k[best])


def _edges_from_bounds(x: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Edges for bins split at `bounds` (indices into sorted x): mid-way between the neighbouring values."""
    inner = 0.5 * (x[bounds - 1] + x[bounds])
    return np.concatenate([[x[0]], inner, [x[-1]]])


def _pad_edges(edges: np.ndarray, n_bins: int) -> np.ndarray:
    """Halve the widest bin until there are `n_bins` (the new bins may stay empty)."""
    edges = np.asarray(edges, dtype=np.float64)
    while len(edges) - 1 < n_bins:
        k = int(np.argmax(np.diff(edges)))
        edges = np.insert(edges, k + 1, 0.5 * (edges[k] + edges[k + 1]))
    return edges


def lloyd_max(x: np.ndarray, n_bins: int, start: np.ndarray | None = None, max_iter: int = 100_000) -> Bins:
    """The Lloyd-Max quantizer of the 1-D sample `x`: 1-D k-means run to convergence (each edge mid-way
    between its neighbouring values, each value the mean of its bin) from `start` edges (default: quantiles).
    Its RMSE is the lowest a scalar quantizer with `n_bins` levels reaches on `x` (up to the local optimum
    the start leads to): the yardstick `lloyd_max_rmse` measures other bins against."""
    x = np.sort(np.asarray(x, dtype=np.float64).ravel())
    edges = np.quantile(x, np.linspace(0.0, 1.0, n_bins + 1)) if start is None else np.array(start, float)
    return _lloyd(x, edges, min_count=0, max_iter=max_iter)


def best_lloyd_max(x: np.ndarray, n_bins: int) -> Bins:
    """The best Lloyd-Max quantizer found on `x` from three starts (quantile, uniform, adaptive)."""
    x = np.sort(np.asarray(x, dtype=np.float64).ravel())
    starts = [None, np.linspace(x[0], x[-1], n_bins + 1), fit_bins(x, n_bins, "adaptive").edges]
    return min((lloyd_max(x, n_bins, start) for start in starts), key=lambda bins: quantizer_rmse(bins, x))


def lloyd_max_rmse(x: np.ndarray, n_bins: int) -> float:
    """RMSE of `best_lloyd_max` on the very values it was fitted to: the limit for any n-level quantizer."""
    return quantizer_rmse(best_lloyd_max(x, n_bins), x)


def quantizer_rmse(bins: Bins, x: np.ndarray) -> float:
    """RMSE of quantizing the values `x` with `bins` (nearest bin by edges, decoded to its value)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    return float(np.sqrt(np.mean((bins.values[bins.index(x)].astype(np.float64) - x) ** 2)))


def _lloyd(x: np.ndarray, edges: np.ndarray, min_count: int, max_iter: int) -> Bins:
    """Lloyd iterations on sorted x from `edges` until the edges stop moving: each inner edge mid-way between
    the means of its two bins; the outer edges stay at the extremes (the tails stay covered). With
    `min_count`, each update is projected so that every bin keeps at least that many values."""
    edges = np.asarray(edges, dtype=np.float64).copy()
    edges[0], edges[-1] = x[0], x[-1]
    n, n_bins = len(x), len(edges) - 1
    cumulative = np.concatenate([[0.0], np.cumsum(x)])
    bounds = np.searchsorted(x, edges[1:-1], side="left")
    for _ in range(max_iter):
        full = np.concatenate([[0], bounds, [n]])
        counts = np.diff(full)
        sums = cumulative[full[1:]] - cumulative[full[:-1]]
        means = np.where(counts > 0, sums / np.maximum(counts, 1), 0.5 * (edges[:-1] + edges[1:]))
        new_bounds = np.searchsorted(x, 0.5 * (means[:-1] + means[1:]), side="left")
        if min_count and n >= n_bins * min_count:
            floor = np.arange(1, n_bins) * min_count  # bound k leaves >= min_count values to each side
            new_bounds = np.minimum(np.maximum.accumulate(np.maximum(new_bounds - floor, 0)) + floor, n)
            ceiling = n - np.arange(n_bins - 1, 0, -1) * min_count
            over = np.minimum(new_bounds - ceiling, 0)[::-1]
            new_bounds = np.maximum(np.minimum.accumulate(over)[::-1] + ceiling, 0)
            new_bounds = np.searchsorted(x, x[np.minimum(new_bounds, n - 1)], side="left")  # between values
        if np.array_equal(new_bounds, bounds):
            break
        bounds = new_bounds
    inner = 0.5 * (x[np.maximum(bounds - 1, 0)] + x[np.minimum(bounds, n - 1)])
    return bins_from_edges(x.astype(np.float32), np.concatenate([[x[0]], inner, [x[-1]]]))
