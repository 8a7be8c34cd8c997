"""TrajectoryTokenizer: N-D continuous deltas + discrete events <-> integer tokens, one token per channel.

A trajectory is `deltas (T, D)` (float, named dims such as dx, dy) plus `events (T, E)` (bool, named events
such as pen_lift). Channels are the D dims (binned, see trajtok.binning) followed by the E events (0/1).

Layouts:
- `factorized`: tokens (T, C), one time step per row, channel c holds ids 0..vocab_sizes[c]-1;
- `flat`: tokens (C*T,), the rows above interleaved into one stream, channel c's ids shifted by
  `channel_offsets[c]` so the channels use disjoint id ranges (like RT-2).
With `eos=True` every channel has one extra id, its last (`vocab_sizes[c] - 1`); `encode(add_eos=True)`
appends one step with every channel at its EOS id, and `decode` stops at the first step in which any channel
holds its EOS id.

Error feedback (the default): a robot follows the *sum* of the deltas, so each delta is encoded together with
the error the reconstruction has accumulated so far (target = delta + running error). The decoded end point is
then off by at most one step's quantization error instead of the sum of all of them (the price: a move that
lands in a wide tail bin leaves a large remainder, which the next steps pay back). It is sequential in time:
the loop runs over time steps, vectorized over every trajectory of a batch and every dim at once, so encode
trajectories in batches (`encode_batch`) when that matters. Plain encoding is fully vectorized.

Values beyond the fitted range clip to the outer bins; `clipped` counts them per dim (since fit/load).
Batches: `fit` takes a list of (T, D) arrays or a (B, T, D) array; `encode_batch` / `decode_batch` take ragged
lists (or (B, T, ...) arrays) and return lists. Bad input raises ValueError naming the trajectory and problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trajtok.binning import SCHEMES, Bins, fit_bins
from trajtok.errors import DataError
from trajtok.tokenizer_io import SavedTokenizer

FORMAT = "trajtok.trajectory_tokenizer"
VERSION = 1
LAYOUTS = ("factorized", "flat")


class TrajectoryTokenizer(SavedTokenizer):
    """Bins per dim fitted from data (`fit`), then `encode` / `decode` in the chosen layout (see above)."""

    def __init__(
        self,
        dim_names: Sequence[str],
        event_names: Sequence[str] = (),
        n_bins: int = 24,
        scheme: str = "adaptive",
        layout: str = "factorized",
        error_feedback: bool = True,
        eos: bool = True,
    ):
        self.dim_names = tuple(str(name) for name in dim_names)
        self.event_names = tuple(str(name) for name in event_names)
        names = self.dim_names + self.event_names
        if not self.dim_names:
            raise ValueError("a trajectory tokenizer needs at least one dimension name")
        if len(set(names)) != len(names):
            raise ValueError(f"dimension and event names must be unique, got {names}")
        if int(n_bins) < 2:
            raise ValueError(f"n_bins must be at least 2, got {n_bins}")
        if scheme not in SCHEMES:
            raise ValueError(f"unknown bin scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
        if layout not in LAYOUTS:
            raise ValueError(f"unknown token layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
        self.n_bins = int(n_bins)
        self.scheme = scheme
        self.layout = layout
        self.error_feedback = bool(error_feedback)
        self.eos = bool(eos)
        self.bins: tuple[Bins, ...] | None = None
        self._limits = np.array((self.n_bins,) * self.n_dims + (2,) * self.n_events)  # (C,) ids below EOS
        self._offsets = np.array(self.channel_offsets)  # (C,) first flat id per channel
        self._eos_row = np.array(self.eos_ids) if self.eos else None  # (C,) the EOS step
        self.fit_summary: dict = {}
        # values encoded beyond the fitted range per dim since fit/load (error feedback: the corrected ones)
        self.clipped = np.zeros(self.n_dims, dtype=np.int64)

    # ---- shape of the vocabulary -------------------------------------------------------------------------
    @property
    def n_channels(self) -> int:
        return self.n_dims + self.n_events

    @property
    def channel_names(self) -> tuple[str, ...]:
        return self.dim_names + self.event_names

    @property
    def event_channels(self) -> tuple[int, ...]:
        """Channels holding events (the loss weighs them differently)."""
        return tuple(range(self.n_dims, self.n_channels))

    @property
    def vocab_sizes(self) -> tuple[int, ...]:
        """Ids per channel (factorized), each including its EOS id when eos=True."""
        extra = int(self.eos)
        return (self.n_bins + extra,) * self.n_dims + (2 + extra,) * self.n_events

    @property
    def vocab_size(self) -> int:
        """Total ids of the flat layout (the channels' ranges laid end to end)."""
        return sum(self.vocab_sizes)

    @property
    def channel_offsets(self) -> tuple[int, ...]:
        """First flat id of each channel."""
        return tuple(int(v) for v in np.cumsum((0,) + self.vocab_sizes[:-1]))

    @property
    def eos_ids(self) -> tuple[int, ...]:
        """EOS id of each channel (factorized numbering)."""
        if not self.eos:
            raise ValueError("this tokenizer has no EOS token (eos=False)")
        return tuple(v - 1 for v in self.vocab_sizes)

    @property
    def is_fitted(self) -> bool:
        return self.bins is not None

    # ---- fitting -----------------------------------------------------------------------------------------
    def fit(self, deltas: Sequence[np.ndarray] | np.ndarray) -> TrajectoryTokenizer:
        """Fit each dim's bins to a list of (T, D) deltas or a (B, T, D) array; returns self."""
        trajectories, stacked = self._checked_trajectories(deltas)
        if not trajectories:
            raise ValueError("cannot fit a tokenizer to no trajectories")
        self._set_bins(tuple(fit_bins(stacked[:, j], self.n_bins, self.scheme) for j in range(self.n_dims)))
        self.fit_summary = {"n_trajectories": len(trajectories), "n_steps": int(len(stacked))}
        return self

    def _set_bins(self, bins: tuple[Bins, ...]) -> None:
        self.bins = bins
        self._inner_edges = np.stack([b.edges[1:-1] for b in bins])  # (D, n_bins - 1) float32
        self._values_flat = np.concatenate([b.values for b in bins])  # (D * n_bins,) float32, dim-major
        self._value_offsets = np.arange(self.n_dims) * self.n_bins  # (D,) where each dim's values start
        self._lower = np.array([b.edges[0] for b in bins])  # (D,)
        self._upper = np.array([b.edges[-1] for b in bins])  # (D,)
        self.clipped = np.zeros(self.n_dims, dtype=np.int64)

    def _require_fitted(self) -> None:
        if self.bins is None:
            raise ValueError("the tokenizer is not fitted yet; call fit(deltas) or load a saved one")

    # ---- encoding ----------------------------------------------------------------------------------------
    def encode(
        self,
        deltas: np.ndarray,
        events: np.ndarray | None,
        add_eos: bool = False,
        error_feedback: bool | None = None,
    ) -> np.ndarray:
        """deltas (T, D) + events (T, E) -> int64 tokens: (T[+1], C) factorized or (C*(T[+1]),) flat.

        `events` may be None only when the tokenizer has no events. `error_feedback=None` uses the
        tokenizer's setting.
        """
        return self._encode([deltas], [events], add_eos, error_feedback, where=lambda i: "trajectory")[0]

    def encode_batch(
        self,
        deltas: Sequence[np.ndarray] | np.ndarray,
        events: Sequence[np.ndarray | None] | np.ndarray | None,
        add_eos: bool = False,
        error_feedback: bool | None = None,
    ) -> list[np.ndarray]:
        """A ragged list (or (B, T, D) array) of trajectories -> a list of token arrays as `encode` gives."""
        deltas = _as_list(deltas)
        events = [None] * len(deltas) if events is None else _as_list(events)
        if len(events) != len(deltas):
            raise ValueError(f"got {len(deltas)} delta arrays but {len(events)} event arrays")
        return self._encode(deltas, events, add_eos, error_feedback, where=lambda i: f"trajectory {i}")

    def _encode(self, deltas_list, events_list, add_eos, error_feedback, where) -> list[np.ndarray]:
        self._require_fitted()
        if add_eos and not self.eos:
            raise ValueError("add_eos=True needs a tokenizer built with eos=True")
        deltas_list = [self._checked_shape(d, where(i)) for i, d in enumerate(deltas_list)]
        lengths = np.array([len(d) for d in deltas_list], dtype=np.int64)
        stacked = self._stacked_deltas(deltas_list, lengths, where)
        events = self._stacked_events(events_list, lengths, where)
        feedback = self.error_feedback if error_feedback is None else bool(error_feedback)
        ids = self._bin_ids_with_feedback(deltas_list) if feedback else self._bin_ids(stacked)
        return self._layout(ids, events, lengths, add_eos)

    def _bin_ids(self, values: np.ndarray) -> np.ndarray:
        """(N, D) values -> (N, D) int64 bin ids, counting the values beyond the fitted range."""
        ids = np.empty(values.shape, dtype=np.int64)
        for j in range(self.n_dims):
            column = values[:, j]
            ids[:, j] = np.searchsorted(self._inner_edges[j], column, side="right")
            self.clipped[j] += self.bins[j].n_outside(column)
        return ids

    def _bin_ids_with_feedback(self, deltas_list: list[np.ndarray]) -> np.ndarray:
        """Encode delta + running reconstruction error, one time step at a time for the whole batch.
        Returns (N, D) bin ids of the trajectories laid end to end, like `_bin_ids`."""
        lengths = np.array([len(d) for d in deltas_list])
        starts = np.cumsum(lengths) - lengths
        order = np.argsort(-lengths, kind="stable")  # longest first: the live rows at step t are a prefix
        n_live = np.searchsorted(-lengths[order], -np.arange(lengths.max()), side="left")  # rows with T > t
        padded = np.zeros((len(order), lengths.max(), self.n_dims))  # (B, T_max, D) float64
        for row, i in enumerate(order):
            padded[row, : lengths[i]] = deltas_list[i]
        ids = np.zeros(padded.shape, dtype=np.int64)
        targets = np.zeros_like(padded)
        error = np.zeros((len(order), self.n_dims))  # (B, D) target position minus decoded position
        inner = self._inner_edges.astype(np.float64)[None]  # (1, D, n_bins - 1)
        values = self._values_flat.astype(np.float64)
        for t, live in enumerate(n_live):
            target = padded[:live, t] + error[:live]  # (live, D)
            step_ids = (target[:, :, None] >= inner).sum(axis=2)  # == searchsorted(side="right") per dim
            error[:live] = target - values[step_ids + self._value_offsets]
            ids[:live, t] = step_ids
            targets[:live, t] = target
        stacked_ids = np.empty((int(lengths.sum()), self.n_dims), dtype=np.int64)
        stacked_targets = np.empty(stacked_ids.shape)
        for row, i in enumerate(order):
            stacked_ids[starts[i] : starts[i] + lengths[i]] = ids[row, : lengths[i]]
            stacked_targets[starts[i] : starts[i] + lengths[i]] = targets[row, : lengths[i]]
        self.clipped += ((stacked_targets < self._lower) | (stacked_targets > self._upper)).sum(axis=0)
        return stacked_ids

    def _layout(self, ids: np.ndarray, events: np.ndarray, lengths: np.ndarray, add_eos: bool) -> list:
        """(N, D) bin ids + (N, E) events of trajectories laid end to end -> one token array each."""
        sizes = lengths + int(add_eos)
        tokens = np.empty((int(sizes.sum()), self.n_channels), dtype=np.int64)
        if add_eos:
            rows = np.arange(len(ids)) + np.repeat(np.arange(len(lengths)), lengths)  # skip the EOS rows
            tokens[rows, : self.n_dims] = ids
            tokens[rows, self.n_dims :] = events
            tokens[np.cumsum(sizes) - 1] = self._eos_row
        else:
            tokens[:, : self.n_dims] = ids
            tokens[:, self.n_dims :] = events
        if self.layout == "flat":
            tokens += self._offsets
            return _split_rows(tokens.ravel(), sizes * self.n_channels)
        return _split_rows(tokens, sizes)

    def _decoded_values(self, ids: np.ndarray) -> np.ndarray:
        """(N, D) bin ids -> (N, D) float32 decoded deltas."""
        return self._values_flat[ids + self._value_offsets]

    # ---- decoding ----------------------------------------------------------------------------------------
    def decode(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tokens in this layout -> (deltas (T, D) float32, events (T, E) bool); stops at the first EOS."""
        return self._decode([tokens], where=lambda i: "tokens")[0]

    def decode_step(self, step: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """One step's C factorized ids (no EOS) -> (deltas (D,) float32, events (E,) bool): the per-step
        path of streaming generation, without `decode`'s bookkeeping for many trajectories."""
        self._require_fitted()
        ids = np.asarray(step, dtype=np.int64)
        if ids.shape != (self.n_channels,) or ((ids < 0) | (ids >= self._limits)).any():
            raise ValueError(
                f"step {list(step)}: expected {self.n_channels} ids below {self._limits.tolist()} (no EOS)"
            )
        return self._values_flat[ids[: self.n_dims] + self._value_offsets], ids[self.n_dims :] == 1

    def token_steps(self, tokens: np.ndarray) -> np.ndarray:
        """Time step of each row of factorized tokens (or each flat token): the alignment batching needs."""
        n = len(tokens) if self.layout == "factorized" else len(tokens) // self.n_channels
        return np.repeat(np.arange(n), 1 if self.layout == "factorized" else self.n_channels)

    def decode_batch(self, tokens: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """A list of token arrays -> a list of (deltas, events), decoded together."""
        return self._decode(_as_list(tokens), where=lambda i: f"tokens {i}")

    def _decode(self, token_arrays: list, where) -> list[tuple[np.ndarray, np.ndarray]]:
        self._require_fitted()
        if not token_arrays:
            return []
        steps_list = [self._factorized(np.asarray(t), where(i)) for i, t in enumerate(token_arrays)]
        steps = np.concatenate(steps_list)  # (N, C), all trajectories end to end
        lengths = np.array([len(s) for s in steps_list], dtype=np.int64)
        if self.eos:
            steps, lengths = self._cut_at_eos(steps, lengths)
        bad = (steps < 0) | (steps >= self._limits)
        if bad.any():
            row, c = np.argwhere(bad)[0]
            i, t = _locate(row, lengths)
            raise ValueError(
                f"{where(i)}: id {steps[row, c]} at step {t} is not a valid {self.channel_names[c]!r} token "
                f"(0..{self._limits[c] - 1}); were these tokens made by this tokenizer?"
            )
        deltas = self._decoded_values(steps[:, : self.n_dims])
        events = steps[:, self.n_dims :] == 1
        return list(zip(_split_rows(deltas, lengths), _split_rows(events, lengths), strict=True))

    def _cut_at_eos(self, steps: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Drop each trajectory's steps from its first step holding an EOS id on any channel."""
        eos_rows = np.flatnonzero((steps == self._eos_row).any(axis=1))
        if len(eos_rows) == 0:
            return steps, lengths
        starts = np.cumsum(lengths) - lengths
        first_eos = np.append(eos_rows, len(steps))[np.searchsorted(eos_rows, starts)]
        kept = np.minimum(first_eos, starts + lengths) - starts
        n = len(steps)
        keep = np.cumsum(np.bincount(starts, minlength=n + 1) - np.bincount(starts + kept, minlength=n + 1))
        return steps[keep[:n] > 0], kept

    def _factorized(self, tokens: np.ndarray, where: str) -> np.ndarray:
        """Tokens of this layout -> (T, C) int64 in factorized numbering (flat: cut at the first EOS)."""
        if tokens.dtype.kind not in "iu":
            raise ValueError(f"{where}: token ids must be integers, got dtype {tokens.dtype}")
        if self.layout == "factorized":
            if tokens.ndim != 2 or tokens.shape[1] != self.n_channels:
                raise ValueError(
                    f"{where}: factorized tokens must have shape (T, {self.n_channels}), got {tokens.shape}"
                )
            return tokens.astype(np.int64, copy=False)
        if tokens.ndim != 1:
            raise ValueError(f"{where}: flat tokens must be one-dimensional, got shape {tokens.shape}")
        n_whole = len(tokens) // self.n_channels * self.n_channels
        ends_in_eos = False
        if self.eos:  # a trailing partial step is fine when an EOS comes before it
            channel = np.arange(len(tokens)) % self.n_channels
            first_eos = np.flatnonzero(tokens == (self._offsets + self._eos_row)[channel])
            if len(first_eos):
                ends_in_eos = True
                n_whole = first_eos[0] // self.n_channels * self.n_channels
        if n_whole != len(tokens) and not ends_in_eos:
            raise ValueError(
                f"{where}: {len(tokens)} flat tokens are not whole steps of {self.n_channels} channels"
            )
        return tokens[:n_whole].reshape(-1, self.n_channels).astype(np.int64) - self._offsets

    # ---- input checks ------------------------------------------------------------------------------------
    def _checked_trajectories(self, deltas) -> tuple[list[np.ndarray], np.ndarray | None]:
        """A list / (B, T, D) array of deltas -> (checked list, (N, D) end to end, or None when empty)."""
        trajectories = [self._checked_shape(d, f"trajectory {i}") for i, d in enumerate(_as_list(deltas))]
        if not trajectories:
            return [], None
        lengths = np.array([len(d) for d in trajectories], dtype=np.int64)
        return trajectories, self._stacked_deltas(trajectories, lengths, where=lambda i: f"trajectory {i}")

    def _checked_shape(self, deltas, where: str) -> np.ndarray:
        return checked_shape(deltas, self.dim_names, where)

    def _stacked_deltas(self, deltas_list: list[np.ndarray], lengths: np.ndarray, where) -> np.ndarray:
        """Shape-checked (T_i, D) deltas -> (N, D) end to end, raising on the first NaN / inf."""
        stacked = np.concatenate(deltas_list)
        finite = np.isfinite(stacked)
        if not finite.all():
            row, j = np.argwhere(~finite)[0]
            i, t = _locate(row, lengths)
            kind = "NaN" if np.isnan(stacked[row, j]) else "inf"
            raise ValueError(f"{where(i)}: {kind} in deltas at step {t}, dim {self.dim_names[j]!r}")
        return stacked

    def _stacked_events(self, events_list: list, lengths: np.ndarray, where) -> np.ndarray:
        """(T_i, E) events (None when E == 0) -> (N, E) int64 0/1 end to end, checking shapes and values."""
        arrays = []
        for i, (events, n_steps) in enumerate(zip(events_list, lengths, strict=True)):
            if events is None:
                if self.n_events:
                    raise ValueError(f"{where(i)}: events {self.event_names} are missing (got None)")
                events = np.zeros((n_steps, 0), dtype=bool)
            array = np.asarray(events)
            if array.shape != (n_steps, self.n_events):
                raise ValueError(
                    f"{where(i)}: events must have shape ({n_steps}, {self.n_events}) for "
                    f"{self.event_names}, got shape {array.shape}"
                )
            arrays.append(array)
        stacked = np.concatenate(arrays)
        if stacked.dtype != bool:
            not_binary = ~np.isin(stacked, (0, 1))
            if not_binary.any():
                row, e = np.argwhere(not_binary)[0]
                i, t = _locate(row, lengths)
                raise ValueError(
                    f"{where(i)}: event {self.event_names[e]!r} at step {t} is {stacked[row, e].item()!r}; "
                    "events must be 0/1"
                )
        return stacked.astype(np.int64)

    # ---- persistence -------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        self._require_fitted()
        return {
            "format": FORMAT,
            "version": VERSION,
            "dim_names": list(self.dim_names),
            "event_names": list(self.event_names),
            "n_bins": self.n_bins,
            "scheme": self.scheme,
            "layout": self.layout,
            "error_feedback": self.error_feedback,
            "eos": self.eos,
            "bins": {name: b.to_dict() for name, b in zip(self.dim_names, self.bins, strict=True)},
            "fit": dict(self.fit_summary),
        }

    @classmethod
    def from_dict(cls, data: dict, where: str = "tokenizer") -> TrajectoryTokenizer:
        """Rebuild from `to_dict()`; a foreign, newer or damaged dict raises DataError naming `where`."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            if isinstance(data, dict) and data.get("format") == "trajtok.chunk_tokenizer":
                raise DataError(
                    f"{where}: holds a {data.get('scheme')!r} chunk tokenizer, not per-step bins; "
                    "load it with "
                    "trajtok.tokenizer_choice.load_tokenizer"
                )
            raise DataError(f"{where}: not a trajtok trajectory tokenizer (no format {FORMAT!r})")
        if data.get("version") != VERSION:
            raise DataError(
                f"{where}: tokenizer format version {data.get('version')!r}, this trajtok reads {VERSION}; "
                "refit it with `trajtok tokenizer fit`"
            )
        try:
            tokenizer = cls(
                data["dim_names"],
                data["event_names"],
                n_bins=data["n_bins"],
                scheme=data["scheme"],
                layout=data["layout"],
                error_feedback=data["error_feedback"],
                eos=data["eos"],
            )
            if set(data["bins"]) != set(tokenizer.dim_names):
                raise ValueError(f"bins for {sorted(data['bins'])} but dims {list(tokenizer.dim_names)}")
            bins = tuple(Bins.from_dict(data["bins"][name], tokenizer.n_bins) for name in tokenizer.dim_names)
        except (KeyError, TypeError, ValueError) as exc:
            detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            raise DataError(f"{where}: damaged tokenizer ({detail}); refit it") from None
        tokenizer._set_bins(bins)
        tokenizer.fit_summary = dict(data.get("fit") or {})
        return tokenizer

    def __repr__(self) -> str:
        return (
            f"TrajectoryTokenizer(dims={self.dim_names}, events={self.event_names}, n_bins={self.n_bins}, "
            f"scheme={self.scheme!r}, layout={self.layout!r}, error_feedback={self.error_feedback}, "
            f"eos={self.eos}, fitted={self.is_fitted})"
        )


def checked_shape(deltas, dim_names: tuple[str, ...], where: str) -> np.ndarray:
    """deltas as a (T >= 1, D) numeric array, or ValueError naming `where` and the problem."""
    array = np.asarray(deltas)
    if array.ndim != 2 or array.shape[1] != len(dim_names):
        raise ValueError(
            f"{where}: deltas must have shape (T, {len(dim_names)}) for dims {dim_names}, "
            f"got shape {array.shape}"
        )
    if len(array) == 0:
        raise ValueError(f"{where}: empty trajectory (0 steps)")
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{where}: deltas must be numbers, got dtype {array.dtype}")
    return array


def _locate(row: int, lengths: np.ndarray) -> tuple[int, int]:
    """Row of trajectories laid end to end -> (trajectory index, step within it)."""
    ends = np.cumsum(lengths)
    i = int(np.searchsorted(ends, row, side="right"))
    return i, int(row - (ends[i] - lengths[i]))


def _split_rows(array: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    """Rows laid end to end -> one view per part of the given lengths (np.split, minus its overhead)."""
    ends = np.cumsum(lengths).tolist()
    return [array[end - n : end] for end, n in zip(ends, lengths.tolist(), strict=True)]


def _as_list(items) -> list:
    """A list/tuple of arrays, or one array whose first axis indexes trajectories, as a list."""
    return list(items)


@dataclass
class DimReport:
    name: str
    edges: np.ndarray  # (n_bins + 1,)
    values: np.ndarray  # (n_bins,) decoded value per bin
    counts: np.ndarray  # (n_bins,) values of the measured data per bin (plain encoding)
    clipped: int  # values of the measured data beyond the fitted range
    rmse: float  # per-step reconstruction error, plain encoding
    max_error: float


@dataclass
class TokenizerReport:
    """How well a tokenizer reconstructs some trajectories. Drift: the Euclidean distance between the true and
    the decoded end point of a trajectory (the sum of its deltas), mean and max over trajectories."""

    dims: list[DimReport]
    n_trajectories: int
    n_steps: int
    rmse: float  # over all dims and steps, plain encoding
    max_error: float
    drift_plain: float
    drift_plain_max: float
    drift_feedback: float
    drift_feedback_max: float

    @property
    def drift_ratio(self) -> float:
        """End-point drift with error feedback / without (smaller is better)."""
        return self.drift_feedback / self.drift_plain if self.drift_plain > 0 else 0.0

    def to_dict(self) -> dict:
        summary = {k: v for k, v in vars(self).items() if k != "dims"}
        summary["drift_ratio"] = self.drift_ratio
        summary["dims"] = [
            {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in vars(d).items()} for d in self.dims
        ]
        return summary


def measure(tokenizer: TrajectoryTokenizer, deltas: Sequence[np.ndarray] | np.ndarray) -> TokenizerReport:
    """Reconstruction error, bin usage and end-point drift (plain vs error feedback) of `tokenizer` on a list
    of (T, D) deltas. Leaves the tokenizer's `clipped` counters as they were."""
    tokenizer._require_fitted()
    trajectories, stacked = tokenizer._checked_trajectories(deltas)
    if not trajectories:
        raise ValueError("cannot measure a tokenizer on no trajectories")
    clipped_before = tokenizer.clipped.copy()
    stacked = stacked.astype(np.float64)  # (N, D)
    plain_ids = tokenizer._bin_ids(stacked)
    clipped = tokenizer.clipped - clipped_before
    errors = tokenizer._decoded_values(plain_ids) - stacked  # (N, D)
    feedback_ids = tokenizer._bin_ids_with_feedback(trajectories)
    tokenizer.clipped = clipped_before
    starts = np.cumsum([0] + [len(t) for t in trajectories[:-1]])
    plain_drift = np.linalg.norm(np.add.reduceat(errors, starts, axis=0), axis=1)
    feedback_errors = tokenizer._decoded_values(feedback_ids) - stacked
    feedback_drift = np.linalg.norm(np.add.reduceat(feedback_errors, starts, axis=0), axis=1)
    dim_reports = [
        DimReport(
            name=name,
            edges=tokenizer.bins[j].edges,
            values=tokenizer.bins[j].values,
            counts=np.bincount(plain_ids[:, j], minlength=tokenizer.n_bins),
            clipped=int(clipped[j]),
            rmse=float(np.sqrt(np.mean(errors[:, j] ** 2))),
            max_error=float(np.abs(errors[:, j]).max()),
        )
        for j, name in enumerate(tokenizer.dim_names)
    ]
    return TokenizerReport(
        dims=dim_reports,
        n_trajectories=len(trajectories),
        n_steps=len(stacked),
        rmse=float(np.sqrt(np.mean(errors**2))),
        max_error=float(np.abs(errors).max()),
        drift_plain=float(plain_drift.mean()),
        drift_plain_max=float(plain_drift.max()),
        drift_feedback=float(feedback_drift.mean()),
        drift_feedback_max=float(feedback_drift.max()),
    )
