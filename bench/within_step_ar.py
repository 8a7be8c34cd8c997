"""Within-step autoregressive heads vs independent heads: do sampled (dx, dy) pairs stay coherent?

Usage: .venv/bin/python bench/within_step_ar.py [--out runs/bench_within_step_ar] [key=value ...]

Trains the same model twice with `trajtok.train.train` (same seed, data, tokenizer and steps; the default
TrainConfig shortened by the overrides below, then yours), once with `model.within_step_ar=true` (dy head sees
dx, the event head sees both) and once with `false` (every head sees only the decoder state). A finished run
in --out is reused. Then, on the held-out validation samples:

- `nll_dx_dy`: teacher-forced cross-entropy of the true (dx, dy) pair per step (nats), the joint the heads
  model; `nll_event` likewise for the pen-lift channel.
- teacher-forced sampling: at every held-out step, given the true past, draw a pair at temperature 1 (dy
  given the drawn dx for AR heads). `unseen_pair_rate` = share of drawn (dx, dy) bin pairs that never occur
  in the training data (the held-out data's own rate is printed as the floor); `length_error` = mean
  |drawn step length - true step length| in x-heights over pen-down steps (the data is resampled to
  near-constant spacing, so an incoherent pair shows as a wrong length).
- free running: the validation phrases written at temperature 1 (seed 0): unseen-pair rate and the
  Wasserstein-1 distance between the pen-down step lengths and the held-out data's; a PNG of both.

Last line: JSON with `ar_*` and `independent_*` figures and their ratios.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import wasserstein_distance

from trajtok.batching import EncodedSet, collate
from trajtok.checkpoint import load_checkpoint
from trajtok.cli.write import stack_lines
from trajtok.config import load_config
from trajtok.data.hershey import VALIDATION_PHRASES
from trajtok.generate import Writer
from trajtok.plot import render_ink
from trajtok.strokes import integrate
from trajtok.train import TrainConfig, evaluate, prepare_data, train

SHORT_RUN = [
    "steps=600",
    "checkpoint_every=200",
    "sample_every=0",
    "data.n_train=3000",
    "data.n_val=96",
]
VARIANTS = {"ar": "model.within_step_ar=true", "independent": "model.within_step_ar=false"}


def train_variant(out: Path, overrides: list[str]) -> Path:
    config = load_config(TrainConfig, None, overrides)
    latest = out / "checkpoints" / "latest.pt"
    if latest.is_file() and load_checkpoint(latest).extra.get("step") == config.steps:
        print(f"{out}: reusing the finished run")
        return out
    started = time.monotonic()
    summary = train(config, out)
    seconds = time.monotonic() - started
    print(f"{out}: trained {summary.step} steps in {seconds:.0f} s, val loss {summary.val_loss:.3f}")
    return out


def bin_values(tokenizer) -> np.ndarray:
    """(D, n_bins + 1) decoded value of each dim's ids; the end id decodes to NaN."""
    values = np.full((tokenizer.n_dims, tokenizer.n_bins + 1), np.nan, dtype=np.float64)
    for j, bins in enumerate(tokenizer.bins):
        values[j, : tokenizer.n_bins] = bins.values
    return values


def pair_ids(dx: np.ndarray, dy: np.ndarray, n_ids: int) -> np.ndarray:
    return dx.astype(np.int64) * n_ids + dy.astype(np.int64)


def data_pairs(data: EncodedSet, n_ids: int) -> np.ndarray:
    tokens = np.concatenate(data.tokens)
    return pair_ids(tokens[:, 0], tokens[:, 1], n_ids)


@torch.no_grad()
def teacher_forced_draws(model, data: EncodedSet, seed: int, batch_size: int = 32):
    """At every real held-out step: true (dx, dy, pen_down) and a (dx, dy) drawn at temperature 1."""
    generator = torch.Generator().manual_seed(seed)
    true_rows, drawn_rows = [], []
    for start in range(0, len(data), batch_size):
        batch = collate(data, range(start, min(start + batch_size, len(data))))
        tokens, mask = batch["tokens"], batch["step_mask"]
        memory = model.encode(batch["text_ids"], batch["text_pad_mask"])
        hidden, _ = model.decode(model.decoder_inputs(tokens), model.new_cache(memory))
        step = tokens.clone()
        for c in range(2):
            probs = model.channel_logits(hidden, c, step).softmax(-1)  # (B, T, V)
            step[..., c] = torch.multinomial(probs.flatten(0, 1), 1, generator=generator).view(
                probs.shape[:2]
            )
        pen_down = torch.zeros_like(mask)  # step t continues a stroke: step t-1 exists and did not lift
        pen_down[:, 1:] = tokens[:, :-1, 2] == 0
        true_rows.append(torch.cat([tokens[..., :2], pen_down[..., None].long()], -1)[mask])
        drawn_rows.append(step[..., :2][mask])
    return torch.cat(true_rows).numpy(), torch.cat(drawn_rows).numpy()


def free_running(writer: Writer, phrases: list[str]) -> tuple[np.ndarray, np.ndarray, list]:
    """Write the phrases at temperature 1: their (dx, dy) token pairs, pen-down step lengths, samples."""
    samples = writer.write(phrases, temperature=1.0, seed=0)
    pairs, lengths = [], []
    for s in samples:
        if not len(s):
            continue
        tokens = writer.tokenizer.encode(s.deltas, s.events)
        pairs.append(tokens[:, :2])
        down = np.zeros(len(s), bool)
        down[1:] = ~s.events[:-1, 0]
        lengths.append(np.linalg.norm(s.deltas[down], axis=1))
    return np.concatenate(pairs), np.concatenate(lengths), samples


def measure(run: Path, train_pairs: set, val: EncodedSet, phrases: list[str], seed: int) -> dict:
    ckpt = load_checkpoint(run)
    model, tokenizer = ckpt.model, ckpt.tokenizer
    n_ids = tokenizer.n_bins + 1
    values = bin_values(tokenizer)
    _, parts = evaluate(model, val, tokenizer, torch.device("cpu"), torch.autocast("cpu", enabled=False))
    true, drawn = teacher_forced_draws(model, val, seed)
    seen = np.isin(pair_ids(drawn[:, 0], drawn[:, 1], n_ids), list(train_pairs))
    down = true[:, 2] == 1
    true_len = np.hypot(values[0, true[down, 0]], values[1, true[down, 1]])
    drawn_len = np.hypot(values[0, drawn[down, 0]], values[1, drawn[down, 1]])
    ok = np.isfinite(drawn_len)  # a drawn end id has no length
    writer = Writer(
        model, tokenizer, ckpt.text_tokenizer, max_steps_per_char=ckpt.extra["max_steps_per_char"]
    )
    free_pairs, free_lengths, samples = free_running(writer, phrases)
    free_seen = np.isin(pair_ids(free_pairs[:, 0], free_pairs[:, 1], n_ids), list(train_pairs))
    return {
        "nll_dx_dy": parts["val_loss_dx"] + parts["val_loss_dy"],
        "nll_event": parts["val_loss_pen_lift"],
        "unseen_pair_rate": float(1 - seen.mean()),
        "length_error": float(np.abs(drawn_len[ok] - true_len[ok]).mean()),
        "free_unseen_pair_rate": float(1 - free_seen.mean()),
        "free_length_w1": float(wasserstein_distance(free_lengths, true_len)),
        "samples": samples,
        "floor_unseen_pair_rate": float(
            1 - np.isin(pair_ids(true[:, 0], true[:, 1], n_ids), list(train_pairs)).mean()
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/bench_within_step_ar"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("overrides", nargs="*", help="TrainConfig key=value for both runs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    overrides = SHORT_RUN + args.overrides
    print("command: .venv/bin/python bench/within_step_ar.py " + " ".join(args.overrides))
    print("training overrides: " + " ".join(overrides))
    runs = {name: train_variant(args.out / name, [*overrides, flag]) for name, flag in VARIANTS.items()}

    config = load_config(TrainConfig, None, overrides)
    data = prepare_data(config, tokenizer=load_checkpoint(runs["ar"]).tokenizer)
    train_pairs = set(data_pairs(data.train, data.tokenizer.n_bins + 1).tolist())
    phrases = list(VALIDATION_PHRASES[:8])
    results = {name: measure(run, train_pairs, data.val, phrases, config.seed) for name, run in runs.items()}

    rows = [
        "nll_dx_dy",
        "nll_event",
        "unseen_pair_rate",
        "length_error",
        "free_unseen_pair_rate",
        "free_length_w1",
    ]
    print(f"held-out samples: {len(data.val)}, phrases written: {len(phrases)}")
    print(f"floor (held-out data's own unseen pair rate): {results['ar']['floor_unseen_pair_rate']:.4f}")
    print(f"{'figure':24s} {'AR heads':>10s} {'independent':>12s} {'indep / AR':>11s}")
    figures = {}
    for row in rows:
        a, b = results["ar"][row], results["independent"][row]
        ratio = b / a if a else float("inf")
        print(f"{row:24s} {a:10.4f} {b:12.4f} {ratio:11.2f}")
        figures[f"ar_{row}"], figures[f"independent_{row}"] = round(a, 4), round(b, 4)
        figures[f"{row}_ratio"] = round(ratio, 3)
    page = args.out / "free_running.png"
    lines = [s for name in VARIANTS for s in results[name]["samples"]]
    render_ink(stack_lines([integrate(s.deltas, s.events[:, 0]) for s in lines]), page)
    print(f"picture: {page} (top {len(phrases)} lines: AR heads; bottom {len(phrases)}: independent heads)")
    figures["floor_unseen_pair_rate"] = round(results["ar"]["floor_unseen_pair_rate"], 4)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
