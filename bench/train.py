"""Training speed of the default handwriting config: steps/s and tokens/s on this machine.

Usage: .venv/bin/python bench/train.py [--steps 60] [--n-train 600] [key=value ...]

Runs the real pieces of `trajtok train handwriting` (prepare_data, BatchOrder, training_batch,
compute_losses, AdamW, gradient clipping) on a small slice of the embedded corpus, timed after a warm-up.
Baseline in the same run: the same steps without the cross-attention alignment loss (which makes every
decoder layer take the explicit-attention path instead of scaled_dot_product_attention). Tokens are the
non-padding stroke steps times the channels. Last line: JSON with `train_steps_per_s` and `tokens_per_s`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time

import torch

from trajtok.batching import BatchOrder
from trajtok.config import load_config
from trajtok.model import StrokeTransformer
from trajtok.train import compute_losses, prepare_data, training_batch
from trajtok.train_config import TrainConfig

WARMUP = 5


def measure(config: TrainConfig, data, steps: int) -> tuple[float, float]:
    """(steps/s, tokens/s) of `steps` optimizer steps after a warm-up, on CPU."""
    torch.manual_seed(config.seed)
    model = StrokeTransformer(config.model, data.text_tokenizer.vocab_size, data.tokenizer.vocab_sizes)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    order = BatchOrder(data.train.lengths, config.batch_size, config.seed, config.bucket_batches)
    model.train()
    tokens = 0
    for k in range(WARMUP + steps):
        if k == WARMUP:
            started, tokens = time.perf_counter(), 0
        batch = training_batch(k, data.train, order, config)
        loss, _ = compute_losses(model, batch, config.loss, data.tokenizer)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        tokens += int(batch["step_mask"].sum()) * data.tokenizer.n_channels
    elapsed = time.perf_counter() - started
    return steps / elapsed, tokens / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=60, help="timed steps per measurement")
    parser.add_argument("--n-train", type=int, default=600, help="training samples to prepare")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    args = parser.parse_args()
    config = load_config(TrainConfig, None, [f"data.n_train={args.n_train}", "data.n_val=8", *args.overrides])
    torch.set_num_threads(config.threads or os.cpu_count() or 1)
    data = prepare_data(config)
    steps_per_s, tokens_per_s = measure(config, data, args.steps)
    no_attention = dataclasses.replace(config, loss=dataclasses.replace(config.loss, attention_weight=0.0))
    base_steps_per_s, _ = measure(no_attention, data, args.steps)
    print(f"default config ({config.batch_size} samples/batch, {torch.get_num_threads()} thread(s)):")
    print(f"  {steps_per_s:8.2f} steps/s  {tokens_per_s:10.0f} tokens/s")
    print(f"  without the attention loss (baseline): {base_steps_per_s:.2f} steps/s")
    print(f"  ratio default / baseline: {steps_per_s / base_steps_per_s:.2f}")
    minutes = config.steps / steps_per_s / 60
    print(f"  {config.steps} steps of the default run at this rate: {minutes:.1f} min")
    print(f"  load average (1 min): {os.getloadavg()[0]:.2f}")
    figures = {
        "train_steps_per_s": round(steps_per_s, 3),
        "tokens_per_s": round(tokens_per_s, 1),
        "no_attention_loss_steps_per_s": round(base_steps_per_s, 3),
        "default_run_minutes_at_this_rate": round(minutes, 2),
        "threads": torch.get_num_threads(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
