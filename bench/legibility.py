"""Legibility: can Tesseract OCR read what the model writes? CER on held-out phrases vs the synthetic truth.

Usage: .venv/bin/python bench/legibility.py [--checkpoint RUN_DIR|FILE.pt] [--curve RUN_DIR] [--out DIR]

The phrases are the synthetic corpus's VALIDATION_PHRASES, which no training text contains. Each is written
by the model (greedy by default), drawn as ink only, read by `tesseract IMG stdout --psm 7` (one text line),
and scored by the character error rate (edit distance / phrase length, summed over phrases). The baseline is
the same OCR on the synthetic ground truth of the same phrases: each writer the model was trained on, with
the same stroke thinning; its CER is what a perfect copy of the training data would score.
`--curve RUN_DIR` also scores every checkpoints/step*.pt snapshot of a run (made with snapshot_every) and
prints CER against training minutes. Last line: JSON with `cer`, `ground_truth_cer`, `checkpoint`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from trajtok.checkpoint import load_checkpoint, resolve_checkpoint_path
from trajtok.data.hershey import STYLES, VALIDATION_PHRASES, style_ids, synthesize
from trajtok.generate import Sampling, Writer
from trajtok.plot import render_ink
from trajtok.sample import Sample
from trajtok.strokes import integrate, thin_sample

PX_PER_UNIT = 40.0  # pixels per x-height: Tesseract reads best with letters ~30-50 px tall
LINE_WIDTH = 3.0


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (ca != cb))
    return row[-1]


def ocr(sample: Sample, image: Path) -> str:
    render_ink(
        integrate(sample.deltas, sample.events[:, 0]), image, px_per_unit=PX_PER_UNIT, line_width=LINE_WIDTH
    )
    result = subprocess.run(["tesseract", str(image), "stdout", "--psm", "7"], capture_output=True, text=True)
    return " ".join(result.stdout.split())


def cer(reads: list[str], phrases: list[str]) -> float:
    return sum(edit_distance(r, p) for r, p in zip(reads, phrases, strict=True)) / sum(map(len, phrases))


def score_checkpoint(path, phrases, temperature, seed, image_dir: Path) -> tuple[float, list[str], dict]:
    checkpoint = load_checkpoint(path)
    writer = Writer(
        checkpoint.model,
        checkpoint.tokenizer,
        checkpoint.text_tokenizer,
        max_steps_per_char=checkpoint.extra.get("max_steps_per_char", 40.0),
    )
    written = writer.write(phrases, Sampling(temperature=temperature, seed=seed))
    reads = [ocr(s, image_dir / f"written_{i:02d}.png") for i, s in enumerate(written)]
    return cer(reads, phrases), reads, checkpoint.extra


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", help="run directory or .pt file (default: the shipped model)")
    parser.add_argument(
        "--curve", metavar="RUN_DIR", help="also score the run's checkpoints/step*.pt snapshots"
    )
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="keep the written and ground-truth PNGs here")
    args = parser.parse_args()
    if shutil.which("tesseract") is None:
        print(
            "bench/legibility.py: tesseract is not installed (apt-get install tesseract-ocr)", file=sys.stderr
        )
        return 2

    phrases = list(VALIDATION_PHRASES)
    image_dir = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="legibility-"))
    image_dir.mkdir(parents=True, exist_ok=True)
    path = resolve_checkpoint_path(args.checkpoint)
    score, reads, extra = score_checkpoint(path, phrases, args.temperature, args.seed, image_dir)

    data = (extra.get("train_config") or {}).get("data", {})
    styles = style_ids(data.get("styles") or range(len(STYLES)))
    spacing = float(data.get("spacing", 0.0))
    truth_reads = {
        style: [
            ocr(
                thin_sample(synthesize(p, style, seed=args.seed), spacing),
                image_dir / f"truth_s{style}_{i:02d}.png",
            )
            for i, p in enumerate(phrases)
        ]
        for style in styles
    }
    truth_cer = float(np.mean([cer(r, phrases) for r in truth_reads.values()]))

    print(
        f"checkpoint {path} (step {extra.get('step')}, {extra.get('train_seconds', 0) / 60:.1f} training min)"
    )
    print(f"{'phrase':<22} {'OCR of the model':<28} OCR of the truth (writer {styles[0]})")
    for phrase, read, truth in zip(phrases, reads, truth_reads[styles[0]], strict=True):
        print(f"{phrase:<22} {read:<28} {truth}")
    ratio = score / max(truth_cer, 1e-9)
    print(f"CER written {score:.3f}  vs ground truth {truth_cer:.3f} (writers {styles}; ratio {ratio:.1f}x)")

    curve = []
    if args.curve:
        for snapshot in sorted((Path(args.curve) / "checkpoints").glob("step*.pt")):
            snap_cer, _, snap_extra = score_checkpoint(
                snapshot, phrases, args.temperature, args.seed, image_dir / snapshot.stem
            )
            minutes = snap_extra.get("train_seconds", 0) / 60
            curve.append(
                {"step": snap_extra.get("step"), "minutes": round(minutes, 2), "cer": round(snap_cer, 4)}
            )
            print(f"  step {snap_extra.get('step'):>6}  {minutes:5.1f} min  CER {snap_cer:.3f}")
    result = {"cer": round(score, 4), "ground_truth_cer": round(truth_cer, 4), "checkpoint": str(path)}
    if curve:
        result["cer_vs_minutes"] = curve
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
