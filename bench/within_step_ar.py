"""Within-step autoregressive heads vs independent heads: do sampled (dx, dy) pairs stay coherent?

Usage: .venv/bin/python bench/within_step_ar.py [--out runs/bench_within_step_ar] [key=value ...]

Trains the same model twice with `trajtok.train.train` (same seed, data, tokenizer and steps; the default
TrainConfig shortened by the overrides below, then yours), once with `model.within_step_ar=true` (dy head sees
dx, the event head sees both) and once with `false` (every head sees only the decoder state). A finished run
in --out is reused. Then, on the held-out validation samples:

- `nll_dx_dy`: teacher-forced cross-entropy of the true (dx, dy) pair per step (nats), the joint the heads
  model; `nll_event` likewise for the pen-lift channel.
- teacher-forced sampling: at every held-out step, given the true past, draw a pair at temperature 1 (dy
  given the drawn dx for AR heads) and compare the drawn pairs with the true ones through the training
  data's joint histogram of (dx, dy) id pairs: `unseen_pair_rate` = share of drawn pairs that never occur in
  the training data (the held-out data's own rate is printed as the floor); `pair_surprise` = mean
  -log p_train(pair) of the drawn pairs (nats; the true pairs' figure is printed beside); `pair_tv` =
  total-variation distance between the drawn and the true pair histograms; `length_error` = mean
  |drawn - true step length| (x-heights) over pen-down steps.
- free running: 32 held-out texts written at temperature 1 (seed 0): the same pair figures against the
  held-out steps (`free_*`) and `free_length_w1`, the Wasserstein-1 distance between the pen-down step
  lengths and the held-out data's; a PNG of the first 8 by both.

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
from trajtok.config import load_config
from trajtok.generate import Sampling, Writer
from trajtok.page_lines import stack_lines
from trajtok.plot import render_ink
from trajtok.strokes import integrate
from trajtok.train import evaluate, prepare_data, train
from trajtok.train_config import TrainConfig

# A small model on short words: minutes per run on a shared 2-core CPU, long enough to tell the heads apart.
SHORT_RUN = [
    "steps=400",
    "batch_size=16",
    "checkpoint_every=200",
    "sample_every=0",
    "sample_phrases=[]",
    "threads=1",
    "data.n_train=1000",
    "data.n_val=64",
    "data.max_chars=8",
    "model.d_model=64",
    "model.n_heads=2",
    "model.n_enc_layers=1",
    "model.n_dec_layers=2",
    "model.d_ff=256",
]
N_PHRASES = 32  # held-out texts written free-running
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


class PairStats:
    """How plausible (dx, dy) id pairs are under the training data's joint histogram of pairs."""

    def __init__(self, data: EncodedSet, n_ids: int):
        self.n_ids = n_ids
        tokens = np.concatenate(data.tokens)
        self.counts = np.bincount(self.ids(tokens[:, :2]), minlength=n_ids * n_ids)
        smoothed = (self.counts + 1.0) / (self.counts.sum() + n_ids * n_ids)  # add-one: no pair is impossible
        self.surprise_of = -np.log(smoothed)

    def ids(self, pairs: np.ndarray) -> np.ndarray:  # (N, 2) -> (N,)
        return pairs[:, 0].astype(np.int64) * self.n_ids + pairs[:, 1].astype(np.int64)

    def unseen_rate(self, pairs: np.ndarray) -> float:
        """Share of pairs that never occur in the training data."""
        return float(np.mean(self.counts[self.ids(pairs)] == 0))

    def surprise(self, pairs: np.ndarray) -> float:
        """Mean -log p_train(pair) in nats."""
        return float(self.surprise_of[self.ids(pairs)].mean())

    def tv(self, a: np.ndarray, b: np.ndarray) -> float:
        """Total-variation distance between the pair histograms of a and b."""
        size = self.n_ids * self.n_ids
        ha = np.bincount(self.ids(a), minlength=size) / len(a)
        hb = np.bincount(self.ids(b), minlength=size) / len(b)
        return float(0.5 * np.abs(ha - hb).sum())


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
            probs = model.channel_logits(hidden, c, step.unbind(-1)).softmax(-1)  # (B, T, V)
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
    samples = writer.write(phrases, Sampling(temperature=1.0, seed=0))
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


def measure(run: Path, pairs: PairStats, val: EncodedSet, phrases: list[str], seed: int) -> dict:
    ckpt = load_checkpoint(run)
    model, tokenizer = ckpt.model, ckpt.tokenizer
    values = bin_values(tokenizer)
    _, parts = evaluate(model, val, tokenizer, torch.device("cpu"), torch.autocast("cpu", enabled=False))
    true, drawn = teacher_forced_draws(model, val, seed)
    down = true[:, 2] == 1
    true_len = np.hypot(values[0, true[down, 0]], values[1, true[down, 1]])
    drawn_len = np.hypot(values[0, drawn[down, 0]], values[1, drawn[down, 1]])
    ok = np.isfinite(drawn_len)  # a drawn end id has no length
    steps_per_char = ckpt.extra["max_steps_per_char"]
    writer = Writer(model, tokenizer, ckpt.text_tokenizer, max_steps_per_char=steps_per_char)
    free_pairs, free_lengths, samples = free_running(writer, phrases)
    return {
        "nll_dx_dy": parts["val_loss_dx"] + parts["val_loss_dy"],
        "nll_event": parts["val_loss_pen_lift"],
        "unseen_pair_rate": pairs.unseen_rate(drawn),
        "pair_surprise": pairs.surprise(drawn),
        "pair_tv": pairs.tv(drawn, true[:, :2]),
        "length_error": float(np.abs(drawn_len[ok] - true_len[ok]).mean()),
        "free_unseen_pair_rate": pairs.unseen_rate(free_pairs),
        "free_pair_surprise": pairs.surprise(free_pairs),
        "free_pair_tv": pairs.tv(free_pairs, true[:, :2]),
        "free_length_w1": float(wasserstein_distance(free_lengths, true_len)),
        "samples": samples,
        "floor_unseen_pair_rate": pairs.unseen_rate(true[:, :2]),
        "real_pair_surprise": pairs.surprise(true[:, :2]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/bench_within_step_ar"))
    parser.add_argument("overrides", nargs="*", help="TrainConfig key=value for both runs")
    args = parser.parse_args()
    overrides = SHORT_RUN + args.overrides
    print("command: .venv/bin/python bench/within_step_ar.py " + " ".join(args.overrides))
    print("training overrides: " + " ".join(overrides))
    runs = {name: train_variant(args.out / name, [*overrides, flag]) for name, flag in VARIANTS.items()}

    config = load_config(TrainConfig, None, overrides)
    data = prepare_data(config, tokenizer=load_checkpoint(runs["ar"]).tokenizer)
    pairs = PairStats(data.train, data.tokenizer.n_bins + 1)
    phrases = data.val.texts[:N_PHRASES]
    results = {name: measure(run, pairs, data.val, phrases, config.seed) for name, run in runs.items()}

    rows = [
        "nll_dx_dy",
        "nll_event",
        "unseen_pair_rate",
        "pair_surprise",
        "pair_tv",
        "length_error",
        "free_unseen_pair_rate",
        "free_pair_surprise",
        "free_pair_tv",
        "free_length_w1",
    ]
    print(f"held-out samples: {len(data.val)}, phrases written: {len(phrases)}")
    real = results["ar"]
    print(f"held-out data itself: unseen pair rate {real['floor_unseen_pair_rate']:.4f}, ", end="")
    print(f"pair surprise {real['real_pair_surprise']:.4f} nats")
    print(f"{'figure':24s} {'AR heads':>10s} {'independent':>12s} {'indep / AR':>11s}")
    figures = {}
    for row in rows:
        a, b = results["ar"][row], results["independent"][row]
        ratio = b / a if a else float("inf")
        print(f"{row:24s} {a:10.4f} {b:12.4f} {ratio:11.2f}")
        figures[f"ar_{row}"], figures[f"independent_{row}"] = round(a, 4), round(b, 4)
        figures[f"{row}_ratio"] = round(ratio, 3)
    page = args.out / "free_running.png"
    lines = [s for name in VARIANTS for s in results[name]["samples"][:8]]
    render_ink(stack_lines([integrate(s.deltas, s.events[:, 0]) for s in lines]), page)
    print(f"picture: {page} (top 8 lines: AR heads; bottom 8: independent heads)")
    figures["floor_unseen_pair_rate"] = round(real["floor_unseen_pair_rate"], 4)
    figures["real_pair_surprise"] = round(real["real_pair_surprise"], 4)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
