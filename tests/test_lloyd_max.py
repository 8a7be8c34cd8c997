"""Adaptive bins against the Lloyd-Max limit, and the shipped model's stored tokenizer staying as it was."""

from __future__ import annotations

import json

import numpy as np
import torch
from test_tokenizer import handwriting_like

from trajtok.binning import fit_bins, lloyd_max, lloyd_max_rmse, quantizer_rmse
from trajtok.checkpoint import SHIPPED_DIR, SHIPPED_FILE, load_checkpoint
from trajtok.tokenizer import TrajectoryTokenizer, measure


def test_lloyd_max_is_a_fixed_point_and_beats_every_other_quantizer():
    x = np.random.default_rng(0).laplace(0, 1, 20000)
    best = lloyd_max(x, 8)
    values = best.values.astype(np.float64)
    np.testing.assert_allclose(best.edges[1:-1], 0.5 * (values[:-1] + values[1:]), atol=0.01)  # converged
    limit = lloyd_max_rmse(x, 8)
    for scheme in ("uniform", "quantile"):
        assert quantizer_rmse(fit_bins(x, 8, scheme), x) > limit


def test_adaptive_bins_sit_near_the_limit_with_fine_core_covered_tails_and_low_drift():
    (train, _), (held_out, _) = handwriting_like(1000, seed=0), handwriting_like(500, seed=1)
    fit, test = np.concatenate(train), np.concatenate(held_out)
    for j in range(2):
        bins = fit_bins(fit[:, j], 24, "adaptive")
        assert quantizer_rmse(bins, test[:, j]) <= 1.1 * lloyd_max_rmse(test[:, j], 24)
        widths = np.diff(bins.edges)
        core = np.abs(0.5 * (bins.edges[:-1] + bins.edges[1:])) < 0.1
        assert widths[core].max() < 0.1 * widths.max()  # fine bins near zero
        assert bins.edges[0] <= fit[:, j].min() and bins.edges[-1] >= fit[:, j].max()  # tails covered
    report = measure(TrajectoryTokenizer(("dx", "dy"), ("pen_lift",)).fit(train), held_out)
    assert report.drift_ratio < 0.2  # error feedback still holds the end point


def test_the_shipped_model_keeps_its_stored_tokenizer_and_decodes_as_before():
    payload = torch.load(SHIPPED_DIR / SHIPPED_FILE, map_location="cpu", weights_only=False)
    stored = json.loads(payload["tokenizer"])
    tokenizer = load_checkpoint(None).tokenizer
    assert tokenizer.to_dict()["bins"] == stored["bins"]  # the bins as saved, not refitted
    ids = np.stack(np.meshgrid(*[np.arange(n) for n in (24, 24, 2)], indexing="ij"), -1).reshape(-1, 3)
    deltas, _ = tokenizer.decode(ids)
    values = [np.asarray(stored["bins"][name]["values"], np.float32) for name in ("dx", "dy")]
    expected = np.stack([values[j][ids[:, j]] for j in range(2)], 1)
    np.testing.assert_array_equal(deltas, expected)
    # and it re-encodes its own values exactly as before
    again = tokenizer.encode(deltas, np.zeros((len(ids), 1), bool), error_feedback=False)
    assert np.array_equal(again[:, :2], ids[:, :2])
