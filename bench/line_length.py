"""Line length: how long a line the model writes to its end, against the line width it is cut at.

Usage: .venv/bin/python bench/line_length.py [--checkpoint RUN] [--per-length N] [--random-seed S]

For each length from 14 to 24 characters, N (12) lines of held-out words (text no training sample holds,
drawn with --random-seed, printed) are written at temperatures 0.5 and 0.8, and each line that runs to its
step limit (the end step never taken: scribble past the text) is counted. The line width `trajtok write`
cuts phrases at (`Writer.line_width`: for the synthetic corpus, `texts.covered_text_length`, the 99.5th
percentile of its texts' lengths) is printed beside it: lines up to it are the baseline of the same run.
Last line: JSON with `line_width`, `runs_to_limit` (length -> count, per temperature), `within_width`
and `beyond_width` (the shares of lines that ran to the limit), `per_length`, `random_seed`, `checkpoint`.
"""

from __future__ import annotations

import argparse
import json
import secrets

import numpy as np
import torch

from trajtok.data.texts import held_out_lines
from trajtok.generate import Sampling, Writer

LENGTHS = range(14, 25)
TEMPERATURES = (0.5, 0.8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="model run directory or .pt (default: the shipped model)")
    parser.add_argument("--per-length", type=int, default=12)
    parser.add_argument("--random-seed", type=int, help="repeat a draw (default: a fresh one, printed)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    seed = secrets.randbits(31) if args.random_seed is None else args.random_seed
    rng = np.random.default_rng(seed)
    writer = Writer.from_checkpoint(args.checkpoint)
    width = writer.line_width()
    print(f"line width (where trajtok write cuts): {width}; --random-seed {seed}")
    lines = {length: held_out_lines(length, args.per_length, rng) for length in LENGTHS}
    runs: dict[float, dict[int, int]] = {}
    for temperature in TEMPERATURES:
        runs[temperature] = {}
        for length, texts in lines.items():
            written = writer.write(texts, Sampling(temperature=temperature, seed=seed))
            limits = [min(writer.step_budget(t), writer.model.config.max_steps) for t in texts]
            runs[temperature][length] = sum(len(s) >= limit for s, limit in zip(written, limits, strict=True))
        counts = " ".join(f"{k}:{v}" for k, v in runs[temperature].items())
        print(
            f"temperature {temperature}: lines run to the limit, by length (of {args.per_length}): {counts}"
        )
    within = [v for r in runs.values() for k, v in r.items() if width is None or k <= width]
    beyond = [v for r in runs.values() for k, v in r.items() if width is not None and k > width]
    share = {
        "within_width": sum(within) / (len(within) * args.per_length) if within else None,
        "beyond_width": sum(beyond) / (len(beyond) * args.per_length) if beyond else None,
    }
    print(
        f"ran to the limit: {share['within_width']} of lines up to the width, {share['beyond_width']} beyond"
    )
    figures = {
        "line_width": width,
        "runs_to_limit": {str(t): r for t, r in runs.items()},
        **share,
        "per_length": args.per_length,
        "random_seed": seed,
        "checkpoint": args.checkpoint or "shipped",
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
