"""Tokenizer benchmark: reconstruction error, end-point drift and encode+decode speed on handwriting deltas.

Bins are fitted on a source's train split and measured on its val split, for adaptive / quantile / uniform at
24 bins and uniform at 256, with ratios against uniform-24 measured in the same run. Speed is plain (no error
feedback) encode + decode of the held-out trajectories as one ragged batch on one core, best of several runs;
error-feedback encoding speed is shown beside it.

Targets (issue 2): adaptive RMSE <= 0.5 x uniform-24; error-feedback drift <= 0.1 x plain drift (adaptive);
>= 5 M steps/s plain encode+decode. The last line is JSON: the embedded corpus (hershey) figures at the top
level, every dataset's under "datasets".

    .venv/bin/python bench/tokenizer.py [--repeats 7] [--hershey-n 4000]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one core, before numpy loads
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from trajtok.data import bigbank_path, load_source  # noqa: E402
from trajtok.tokenizer import TrajectoryTokenizer, measure  # noqa: E402

CONFIGS = (("uniform", 24), ("quantile", 24), ("adaptive", 24), ("uniform", 256))
TARGETS = {"adaptive_rmse_ratio": 0.5, "feedback_drift_ratio": 0.1, "steps_per_s": 5e6}


def best_seconds(run, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def bench_dataset(name: str, train, held_out, repeats: int) -> dict:
    print(
        f"\n== {name}: fit on {train.source} ({len(train):,} trajectories, "
        f"{sum(map(len, train.samples)):,} steps), measured on {held_out.source} "
        f"({len(held_out):,} trajectories, {sum(map(len, held_out.samples)):,} steps)"
    )
    fit_deltas, deltas, events = train.deltas(), held_out.deltas(), held_out.events()
    rows = {}
    for scheme, n_bins in CONFIGS:
        tokenizer = TrajectoryTokenizer(train.dim_names, train.event_names, n_bins=n_bins, scheme=scheme)
        fit_s = best_seconds(lambda t=tokenizer: t.fit(fit_deltas), 1)
        rows[f"{scheme}-{n_bins}"] = (tokenizer, measure(tokenizer, deltas), fit_s)
    base = rows["uniform-24"][1]
    print(
        f"{'bins':<13} {'RMSE':>9} {'x unif24':>9} {'max err':>9} {'drift plain':>12} {'drift feedb.':>13} "
        f"{'x plain':>8} {'fit s':>7}"
    )
    for label, (_, report, fit_s) in rows.items():
        print(
            f"{label:<13} {report.rmse:>9.4g} {report.rmse / base.rmse:>9.3f} {report.max_error:>9.4g} "
            f"{report.drift_plain:>12.4g} {report.drift_feedback:>13.4g} {report.drift_ratio:>8.3f} "
            f"{fit_s:>7.2f}"
        )

    tokenizer, adaptive, _ = rows["adaptive-24"]
    n_steps = adaptive.n_steps

    def plain_round_trip():
        tokenizer.decode_batch(tokenizer.encode_batch(deltas, events, error_feedback=False))

    def long_array_round_trip():
        tokenizer.decode(tokenizer.encode(long_deltas, long_events, error_feedback=False))

    long_deltas, long_events = np.concatenate(deltas), np.concatenate(events)
    steps_per_s = n_steps / best_seconds(plain_round_trip, repeats)
    long_steps_per_s = n_steps / best_seconds(long_array_round_trip, repeats)
    feedback_steps_per_s = n_steps / best_seconds(lambda: tokenizer.encode_batch(deltas, events), repeats)
    print(
        f"plain encode+decode, ragged batch of {len(deltas):,}: {steps_per_s / 1e6:.2f} M steps/s; "
        f"as one array: {long_steps_per_s / 1e6:.2f} M steps/s; "
        f"error-feedback encode (batched over time): {feedback_steps_per_s / 1e6:.2f} M steps/s"
    )
    figures = {
        "adaptive_rmse_ratio": adaptive.rmse / base.rmse,
        "feedback_drift_ratio": adaptive.drift_ratio,
        "steps_per_s": steps_per_s,
        "adaptive_rmse": adaptive.rmse,
        "uniform_rmse": base.rmse,
        "quantile_rmse": rows["quantile-24"][1].rmse,
        "uniform256_rmse": rows["uniform-256"][1].rmse,
        "uniform256_rmse_ratio": rows["uniform-256"][1].rmse / base.rmse,
        "drift_plain": adaptive.drift_plain,
        "drift_error_feedback": adaptive.drift_feedback,
        "uniform_drift_plain": base.drift_plain,
        "uniform_drift_error_feedback": base.drift_feedback,
        "one_array_steps_per_s": long_steps_per_s,
        "feedback_encode_steps_per_s": feedback_steps_per_s,
        "held_out_steps": n_steps,
    }
    for key, target in TARGETS.items():
        met = figures[key] >= target if key == "steps_per_s" else figures[key] <= target
        print(f"target {key}: {figures[key]:.4g} vs {target:g} -> {'met' if met else 'MISSED'}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timing runs; the best counts")
    parser.add_argument("--hershey-n", type=int, default=4000, help="hershey train samples to fit on")
    args = parser.parse_args()
    datasets = {
        "hershey": bench_dataset(
            "hershey (embedded synthetic corpus)",
            load_source("hershey", split="train", n=args.hershey_n),
            load_source("hershey", split="val"),
            args.repeats,
        )
    }
    if bigbank_path().is_file():
        datasets["bigbank"] = bench_dataset(
            "bigbank (3,500 real cursive words)",
            load_source("bigbank", split="train"),
            load_source("bigbank", split="val"),
            args.repeats,
        )
    else:
        print(f"\nbigbank skipped: {bigbank_path()} is absent")
    summary = {"dataset": "hershey", **datasets["hershey"], "targets": TARGETS, "datasets": datasets}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
