"""Line ends: does the model write a line's last word as well as its first?

Usage: .venv/bin/python bench/line_end.py [--checkpoint RUN] [--compare RUN] [--per-length N]
                                          [--random-seed S] [--threads T]

For each length from 10 to 20 characters (the shipped model's line width), N (20) lines of two or more
held-out words (text no training sample holds, drawn with --random-seed, printed) are written greedy and at
the CLI's temperature (trajtok.sampling.DEFAULT_TEMPERATURE), and the recognizer (the shipped one unless
--recognizer) reads each. A line's first word and its last word are each counted wrong when the reading's
first (last) word is not that word. The baseline of the same run is the same reader on the real strokes of
the same lines (the checkpoint's writers, thinned as its training data were): a model that writes the end
of a line as well as its start misreads its last words about as often as its first, as the real strokes
are. `--compare RUN` measures a second model on the same lines, printed beside (e.g. the model before).
Last line: JSON with `last_word_wrong` and `first_word_wrong` (share of lines, per temperature),
`real_last_word_wrong`, `real_first_word_wrong`, `by_length` (last-word share per length band),
`compare` (the same for --compare, or null), `lines`, `random_seed`, `checkpoint`.
"""

from __future__ import annotations

import argparse
import json
import secrets

import numpy as np
import torch

from trajtok.checkpoint import load_checkpoint, resolve_checkpoint_path
from trajtok.data.hershey import STYLES, style_ids, synthesize
from trajtok.data.texts import held_out_lines
from trajtok.generate import Sampling, Writer
from trajtok.recognize import Recognizer, read_back
from trajtok.sampling import DEFAULT_TEMPERATURE
from trajtok.strokes import thin_sample

LENGTHS = range(10, 21)
BANDS = ((10, 13), (14, 17), (18, 20))
TEMPERATURES = (0.0, DEFAULT_TEMPERATURE)


def word_wrong(reads: list[str], texts: list[str], position: int) -> np.ndarray:
    """(n,) True where the reading's word at `position` (0 first, -1 last) is not the text's."""
    return np.array(
        [
            (read.split() or [""])[position] != text.split()[position]
            for read, text in zip(reads, texts, strict=True)
        ]
    )


def shares(reads: list[str], texts: list[str]) -> dict:
    lengths = np.array([len(t) for t in texts])
    last = word_wrong(reads, texts, -1)
    return {
        "first_word_wrong": round(float(word_wrong(reads, texts, 0).mean()), 4),
        "last_word_wrong": round(float(last.mean()), 4),
        "by_length": {
            f"{lo}-{hi}": round(float(last[(lengths >= lo) & (lengths <= hi)].mean()), 4) for lo, hi in BANDS
        },
    }


def measure(checkpoint, texts: list[str], seed: int, reader: Recognizer) -> dict:
    writer = Writer.from_loaded(checkpoint)
    figures = {}
    for temperature in TEMPERATURES:
        written = writer.write(texts, Sampling(temperature=temperature, seed=seed))
        figures[str(temperature)] = shares(read_back(written, reader)[0], texts)
    return figures


def real_strokes(checkpoint, texts: list[str], seed: int) -> list:
    """The same lines in each writer the checkpoint was trained on, thinned as its training data were."""
    data = (checkpoint.extra.get("train_config") or {}).get("data", {})
    spacing = float(data.get("spacing", 0.0))
    styles = style_ids(data.get("styles") or range(len(STYLES)))
    return [
        thin_sample(synthesize(text, styles[i % len(styles)], seed=seed + i), spacing)
        for i, text in enumerate(texts)
    ]


def report(name: str, f: dict) -> None:
    bands = "  ".join(f"{band}: {share:.2f}" for band, share in f["by_length"].items())
    print(
        f"{name:<26} first word wrong {f['first_word_wrong']:.3f}, last word wrong {f['last_word_wrong']:.3f}"
        f" (last, by length {bands})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="model run directory or .pt (default: the shipped model)")
    parser.add_argument("--compare", help="a second model measured on the same lines (e.g. the one before)")
    parser.add_argument("--recognizer", help="the reader (default: the shipped recognizer)")
    parser.add_argument("--per-length", type=int, default=20)
    parser.add_argument("--random-seed", type=int, help="repeat a draw (default: a fresh one, printed)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seed = secrets.randbits(31) if args.random_seed is None else args.random_seed
    rng = np.random.default_rng(seed)
    texts = [line for length in LENGTHS for line in held_out_lines(length, args.per_length, rng, min_words=2)]
    print(
        f"{len(texts)} lines of held-out words, {LENGTHS.start}-{LENGTHS.stop - 1} characters;"
        f" --random-seed {seed}"
    )
    reader = Recognizer.from_checkpoint(args.recognizer)
    checkpoint = load_checkpoint(resolve_checkpoint_path(args.checkpoint))  # read once: writer and writers
    real = shares(read_back(real_strokes(checkpoint, texts, seed), reader)[0], texts)
    report("real strokes", real)
    figures = measure(checkpoint, texts, seed, reader)
    compared = (
        measure(load_checkpoint(resolve_checkpoint_path(args.compare)), texts, seed, reader)
        if args.compare
        else None
    )
    for temperature in TEMPERATURES:
        report(f"model, temperature {temperature}", figures[str(temperature)])
        if compared:
            report(f"--compare, temperature {temperature}", compared[str(temperature)])
    print(
        json.dumps(
            {
                "last_word_wrong": {t: f["last_word_wrong"] for t, f in figures.items()},
                "first_word_wrong": {t: f["first_word_wrong"] for t, f in figures.items()},
                "real_last_word_wrong": real["last_word_wrong"],
                "real_first_word_wrong": real["first_word_wrong"],
                "by_length": {t: f["by_length"] for t, f in figures.items()},
                "compare": compared,
                "lines": len(texts),
                "random_seed": seed,
                "checkpoint": args.checkpoint or "shipped",
            }
        )
    )


if __name__ == "__main__":
    main()
