"""How well a tokenizer of either kind reconstructs some trajectories through encode -> decode, and what it
costs in tokens: per-dim RMSE and max error of plain encoding, end-point drift plain vs with error feedback,
tokens per step (EOS included) against per-step binning's D + E tokens a step, and the values clipped.
`trajtok tokenizer stats` uses it for the chunk schemes (dct, bspline; `tokenizer.measure` adds the bin
tables for the per-step ones), bench/action_tokenizers.py for every scheme.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from trajtok.tokenizer_choice import AnyTokenizer


@dataclass
class RoundTripReport:
    dim_names: tuple[str, ...]
    n_trajectories: int
    n_steps: int
    n_tokens: int  # plain encoding, EOS included
    dim_rmse: np.ndarray  # (D,)
    dim_max_error: np.ndarray  # (D,)
    clipped: np.ndarray  # (D,) values (chunk schemes: coefficients) clipped while encoding
    drift_plain: float
    drift_plain_max: float
    drift_feedback: float
    drift_feedback_max: float
    decoded: list[np.ndarray]  # decoded deltas with error feedback (the default encoding), (T, D) each

    @property
    def rmse(self) -> float:
        return float(np.sqrt(np.mean(self.dim_rmse**2)))

    @property
    def tokens_per_step(self) -> float:
        return self.n_tokens / self.n_steps

    def compression(self, n_events: int) -> float:
        """Per-step binning's tokens (one per dim and event a step) / this scheme's."""
        return (len(self.dim_names) + n_events) / self.tokens_per_step


def measure_round_trip(
    tokenizer: AnyTokenizer,
    deltas: Sequence[np.ndarray],
    events: Sequence[np.ndarray],
    progress: Callable[[int, int], None] | None = None,
) -> RoundTripReport:
    """Encode and decode every trajectory plainly and with error feedback; the tokenizer's `clipped`
    counters are left as they were. progress(done, 4) after each of the four passes (encode plainly, with
    error feedback, decode each)."""
    if not deltas:
        raise ValueError("cannot measure a tokenizer on no trajectories")
    tick = progress or (lambda done, total: None)  # four passes, each seconds on thousands of trajectories
    tick(0, 4)
    clipped_before = tokenizer.clipped.copy()
    plain_tokens = tokenizer.encode_batch(deltas, events, add_eos=True, error_feedback=False)
    clipped = tokenizer.clipped - clipped_before
    tick(1, 4)
    fed_tokens = tokenizer.encode_batch(deltas, events, add_eos=True, error_feedback=True)
    tokenizer.clipped = clipped_before
    tick(2, 4)
    plain = [d for d, _ in tokenizer.decode_batch(plain_tokens)]
    tick(3, 4)
    fed = [d for d, _ in tokenizer.decode_batch(fed_tokens)]
    tick(4, 4)
    errors = np.concatenate([p - np.asarray(t, np.float64) for p, t in zip(plain, deltas, strict=True)])
    drift_plain = [np.linalg.norm(p.sum(0) - t.sum(0)) for p, t in zip(plain, deltas, strict=True)]
    drift_fed = [np.linalg.norm(f.sum(0) - t.sum(0)) for f, t in zip(fed, deltas, strict=True)]
    return RoundTripReport(
        dim_names=tokenizer.dim_names,
        n_trajectories=len(deltas),
        n_steps=int(sum(len(d) for d in deltas)),
        n_tokens=int(sum(t.size for t in plain_tokens)),
        dim_rmse=np.sqrt(np.mean(errors**2, axis=0)),
        dim_max_error=np.abs(errors).max(axis=0),
        clipped=clipped,
        drift_plain=float(np.mean(drift_plain)),
        drift_plain_max=float(np.max(drift_plain)),
        drift_feedback=float(np.mean(drift_fed)),
        drift_feedback_max=float(np.max(drift_fed)),
        decoded=fed,
    )
