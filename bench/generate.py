"""Generation speed: KV-cached decoding vs recomputing the prefix each step, on one CPU core.

Usage: .venv/bin/python bench/generate.py [--config configs/handwriting-long.yaml] [--threads 1] [--repeats 3]

The model is the default handwriting model (the `model` section of the config when it exists, else ModelConfig
defaults) with random weights: speed does not depend on the weights. Both paths run the same sampler
(`Writer`'s, at the default temperature) for a fixed number of steps; `stream_steps_per_s` adds the per-step
token decoding of `Writer.stream` (the path the simulator and the ROS node use). Rates are best-of-repeats
wall-clock steps/s; `kv_steps_per_cpu_s` divides by this process's CPU time instead, which is what one idle
core would give when other work shares the machine (the load average is printed). Last line: JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import torch
import yaml

from trajtok.config import from_dict
from trajtok.generate import Writer
from trajtok.model import StrokeTransformer
from trajtok.model_config import ModelConfig
from trajtok.sampling import Sampling
from trajtok.step_decoder import generate_steps
from trajtok.text import CharTokenizer
from trajtok.token_sampler import ChannelSampler
from trajtok.tokenizer import TrajectoryTokenizer

LENGTHS = (250, 500, 1000)
TEXT = "hello world"


def model_config(path: Path | None) -> ModelConfig:
    """The model section of a training config file (over the defaults), or the default model."""
    if path is None:
        return ModelConfig()
    section = (yaml.safe_load(path.read_text()) or {}).get("model") or {}
    return from_dict(ModelConfig, section, where=f"{path}: model")


def build_writer(config: ModelConfig) -> Writer:
    tokenizer = TrajectoryTokenizer(("dx", "dy"), ("pen_lift",)).fit([torch.randn(2000, 2).numpy()])
    text_tokenizer = CharTokenizer()
    torch.manual_seed(0)
    model = StrokeTransformer(config, text_tokenizer.vocab_size, tokenizer.vocab_sizes)
    with torch.no_grad():  # never pick the end step, so every run takes exactly the steps asked for
        model.heads[0].proj.bias[-1] = -1e4
    return Writer(model, tokenizer, text_tokenizer)


def steps_per_s(writer: Writer, n_steps: int, use_cache: bool, repeats: int) -> tuple[float, float]:
    """(wall-clock steps/s, steps per CPU second), best of `repeats`."""
    model = writer.model
    ids, pad = writer._text_batch([TEXT])
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        pick = ChannelSampler(model.vocab_sizes, 1, Sampling(), generator=torch.Generator().manual_seed(0))
        wall, cpu = time.perf_counter(), time.process_time()
        n = sum(1 for _ in generate_steps(model, model.encode(ids, pad), pick, n_steps, use_cache=use_cache))
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    assert n == n_steps
    return n_steps / best_wall, n_steps / best_cpu


def stream_steps_per_s(writer: Writer, n_steps: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        n = sum(1 for _ in writer.stream(TEXT, Sampling(max_steps=n_steps, seed=0)))
        best = min(best, time.perf_counter() - start)
    assert n == n_steps
    return n_steps / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", type=Path, help="a training config whose model to time (default: the default model)"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = model_config(args.config)
    config = dataclasses.replace(config, max_steps=max(config.max_steps, max(LENGTHS) + 1))
    writer = build_writer(config)
    print(f"model: {writer.model.num_parameters():,} parameters, {config}")
    print(f"threads: {args.threads}, load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    figures = {}
    for n in LENGTHS:
        cached, cached_cpu = steps_per_s(writer, n, True, args.repeats)
        uncached, _ = steps_per_s(writer, n, False, 1 if n == max(LENGTHS) else args.repeats)
        figures[f"kv_steps_per_s_{n}"] = round(cached, 1)
        figures[f"no_cache_steps_per_s_{n}"] = round(uncached, 1)
        figures[f"kv_speedup_{n}"] = round(cached / uncached, 2)
        ratio = cached / uncached
        print(
            f"{n:5d} steps: KV cache {cached:8.1f} steps/s, recompute {uncached:8.1f} steps/s, {ratio:6.2f}x"
        )
    figures["kv_steps_per_s"] = figures[f"kv_steps_per_s_{max(LENGTHS)}"]
    figures["kv_steps_per_cpu_s"] = round(cached_cpu, 1)
    print(f"KV cache, {max(LENGTHS)} steps, per CPU second: {cached_cpu:.1f} steps")
    figures["stream_steps_per_s"] = round(stream_steps_per_s(writer, max(LENGTHS), args.repeats), 1)
    print(
        f"Writer.stream (with token decoding), {max(LENGTHS)} steps: {figures['stream_steps_per_s']} steps/s"
    )
    figures["threads"] = args.threads
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
