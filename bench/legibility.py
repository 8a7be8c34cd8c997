"""Legibility: can Tesseract OCR, and the recognizer, read what the model writes? CER on held-out phrases.

Usage: .venv/bin/python bench/legibility.py [--checkpoint RUN_DIR|FILE.pt] [--curve RUN_DIR] [--out DIR]
                                             [--recognizer RUN_DIR|FILE.pt]

The phrases are the synthetic corpus's VALIDATION_PHRASES, which no training text contains. Each is written
by the model (greedy by default), drawn as ink only, read by `tesseract IMG stdout --psm 7` (one text line),
and scored by the character error rate (edit distance / phrase length, summed over phrases). The baseline is
the same OCR on the synthetic ground truth of the same phrases: each writer the model was trained on, with
the same stroke thinning; its CER is what a perfect copy of the training data would score.
The recognizer (the shipped one unless --recognizer; trajtok recognize) reads the same generated strokes
and the same ground truth, next to Tesseract: `recognizer_cer`, `recognizer_real_cer`. It reads the
pen strokes themselves, so it also judges cursive, which Tesseract cannot read.
`--curve RUN_DIR` also scores every checkpoints/step*.pt snapshot of a run (made with snapshot_every) and
prints CER against training minutes. `--random N` (30) more phrases of held-out words are drawn afresh
each run (the seed printed; --random-seed repeats a draw) and scored the same way: text the bench's fixed
list does not hold. Last line: JSON with `cer`, `ground_truth_cer`, `recognizer_cer`,
`recognizer_real_cer`, `random_phrases_cer`, `random_phrases_recognizer_cer`, `random_seed`,
`checkpoint`, `drafts`, `draft_reader`, `layout`. `--layout` as `trajtok write --layout` (auto: a
model of a word bank writes each word alone, laid out on the line; trajtok.word_layout).
`--drafts N --draft-reader RUN` writes each phrase N times and keeps the draft RUN reads best
(trajtok.drafts, as `trajtok write --drafts`); RUN must be another reader
than the judge (--recognizer), or the judge would pick what it reads best. Tesseract is never the chooser.

`--bigbank` judges a model of the bigbank writer instead (`--checkpoint` trained with
configs/handwriting-wordbank.yaml, `--recognizer` a reader of that writer's cursive, which the shipped print
reader is not): `--words N` (40) words of the bigbank test split (held out from the writer's training and
validation, and from a reader's trained on the train split) and `--phrases N` (30) phrases of 3 of them,
drawn with `--random-seed` (printed). Generated ink and the real strokes of the same words (the phrases:
the real words stitched as training stitches them, trajtok/line_stitching.py; thinned as the model was
trained) are read by the same recognizer. A reader trained on single words never writes a blank, so phrase
CER is taken with the blanks dropped from both sides (`*_with_blanks`: as read). Tesseract is not asked: it
cannot read cursive. Last line: JSON with `recognizer_cer`, `recognizer_real_cer`, `ratio` (their quotient;
target <= 1.3), `phrases_recognizer_cer`, `phrases_recognizer_real_cer`, `phrases_ratio`, the
`*_with_blanks` figures, `random_seed`, `checkpoint`, `recognizer`, `drafts`, `draft_reader`, `layout`
(the phrases written whole, "line", or word by word, "words": the default for such a model). Needs
../shared/data (else exit 2). `--drafts` as above, for each word and phrase.
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
from trajtok.data import bigbank_path, load_source
from trajtok.data.hershey import STYLES, VALIDATION_PHRASES, style_ids, synthesize
from trajtok.data.texts import held_out_phrases
from trajtok.drafts import write_drafts
from trajtok.generate import Sampling, Writer
from trajtok.line_stitching import stitch
from trajtok.plot import render_ink
from trajtok.recognize import Recognizer, read_back
from trajtok.recognizer_checkpoint import SHIPPED
from trajtok.sample import Sample
from trajtok.strokes import integrate, thin_sample
from trajtok.text_metrics import cer
from trajtok.word_layout import LAYOUTS, write_laid_out, writes_word_by_word

PX_PER_UNIT = 40.0  # pixels per x-height: Tesseract reads best with letters ~30-50 px tall
LINE_WIDTH = 3.0


def ocr(sample: Sample, image: Path) -> str:
    render_ink(
        integrate(sample.deltas, sample.events[:, 0]), image, px_per_unit=PX_PER_UNIT, line_width=LINE_WIDTH
    )
    result = subprocess.run(["tesseract", str(image), "stdout", "--psm", "7"], capture_output=True, text=True)
    return " ".join(result.stdout.split())


def score_checkpoint(
    path, phrases, temperature, seed, image_dir: Path, drafts: int = 1, draft_reader=None, layout="auto"
) -> tuple[float, list[str], dict, list[Sample]]:
    checkpoint = load_checkpoint(path)
    writer = Writer.from_loaded(checkpoint)  # as `trajtok write` writes: its word gaps and end rule included
    written = write_phrases(
        writer, phrases, Sampling(temperature=temperature, seed=seed), drafts, draft_reader, layout
    )
    reads = [ocr(s, image_dir / f"written_{i:02d}.png") for i, s in enumerate(written)]
    return cer(reads, phrases), reads, checkpoint.extra, written


def write_phrases(writer, phrases, sampling, drafts: int, draft_reader, layout: str) -> list[Sample]:
    """The phrases as the model writes them (`layout` as `trajtok write --layout`: whole, or word by word),
    each (or each word) the best of `drafts` as `draft_reader` reads them when it is given."""

    def write(texts):
        if draft_reader is None:
            return writer.write(texts, sampling)
        return write_drafts(writer, texts, sampling, drafts, draft_reader)

    return write_laid_out(write, phrases, sampling.seed, writes_word_by_word(layout, writer.stitched_words))[
        0
    ]


def laid_out(layout: str, writer: Writer) -> str:
    """The layout `--layout` resolves to for this writer: "words" or "line"."""
    return "words" if writes_word_by_word(layout, writer.stitched_words) else "line"


def chosen_reader(args: argparse.Namespace) -> Recognizer | None:
    """--drafts N: the reader that chooses among the drafts (None for one draft); exit 2 with one line if it
    is the judge (--recognizer), which would then choose what it reads best."""
    if args.drafts <= 1:
        return None
    judge = resolve_checkpoint_path(args.recognizer, shipped=SHIPPED, task="recognizer").resolve()
    chooser = resolve_checkpoint_path(args.draft_reader, shipped=SHIPPED, task="recognizer").resolve()
    if chooser == judge:
        print(
            f"bench/legibility.py: --draft-reader {chooser} is the judge (--recognizer): the judge would "
            "choose what it reads best; give a reader trained apart from it",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return Recognizer.from_checkpoint(chooser)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", help="run directory or .pt file (default: the shipped model)")
    parser.add_argument(
        "--curve", metavar="RUN_DIR", help="also score the run's checkpoints/step*.pt snapshots"
    )
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="keep the written and ground-truth PNGs here")
    parser.add_argument("--recognizer", help="recognizer run dir or .pt (default: the shipped recognizer)")
    parser.add_argument("--random", type=int, default=30, help="random held-out phrases (default: 30)")
    parser.add_argument("--random-seed", type=int, help="their draw (default: a fresh one, printed)")
    parser.add_argument("--bigbank", action="store_true", help="judge a bigbank model on held-out words")
    parser.add_argument("--words", type=int, default=40, help="--bigbank: held-out words (default: 40)")
    parser.add_argument("--phrases", type=int, default=30, help="--bigbank: 3-word phrases (default: 30)")
    parser.add_argument(
        "--split",
        choices=["test", "val"],
        default="test",
        help="--bigbank: the held-out words to judge on (default: test; val to choose settings on)",
    )
    parser.add_argument(
        "--drafts",
        type=int,
        default=1,
        help="write each N times, keep the best read (trajtok.drafts)",
    )
    parser.add_argument(
        "--draft-reader", help="--drafts: the recognizer that chooses (not the judge, --recognizer)"
    )
    parser.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="auto",
        help="as trajtok write --layout: words, line, or auto (words for a word-bank model; default)",
    )
    args = parser.parse_args()
    if args.drafts < 1:
        parser.error(f"--drafts must be >= 1, got {args.drafts}")
    if args.bigbank:
        return score_word_bank(args)
    if shutil.which("tesseract") is None:
        print(
            "bench/legibility.py: tesseract is not installed (apt-get install tesseract-ocr)", file=sys.stderr
        )
        return 2

    phrases = list(VALIDATION_PHRASES)
    image_dir = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="legibility-"))
    image_dir.mkdir(parents=True, exist_ok=True)
    path = resolve_checkpoint_path(args.checkpoint)
    draft_reader = chosen_reader(args)
    drafting = (args.drafts, draft_reader, args.layout)
    score, reads, extra, written = score_checkpoint(
        path, phrases, args.temperature, args.seed, image_dir, *drafting
    )
    recognizer = Recognizer.from_checkpoint(args.recognizer)
    recognized, recognizer_cer = read_back(written, recognizer)

    data = (extra.get("train_config") or {}).get("data", {})
    styles = style_ids(data.get("styles") or range(len(STYLES)))
    spacing = float(data.get("spacing", 0.0))
    truths = {
        style: [thin_sample(synthesize(p, style, seed=args.seed), spacing) for p in phrases]
        for style in styles
    }
    truth_reads = {
        style: [ocr(t, image_dir / f"truth_s{style}_{i:02d}.png") for i, t in enumerate(samples)]
        for style, samples in truths.items()
    }
    truth_cer = float(np.mean([cer(r, phrases) for r in truth_reads.values()]))
    recognizer_truth_cer = float(np.mean([read_back(samples, recognizer)[1] for samples in truths.values()]))

    print(
        f"checkpoint {path} (step {extra.get('step')}, {extra.get('train_seconds', 0) / 60:.1f} training min)"
    )
    print(f"{'phrase':<22} {'OCR of the model':<26} {'recognizer':<22} OCR of the truth (writer {styles[0]})")
    for phrase, read, rec, truth in zip(phrases, reads, recognized, truth_reads[styles[0]], strict=True):
        print(f"{phrase:<22} {read:<26} {rec:<22} {truth}")
    ratio = score / max(truth_cer, 1e-9)
    print(
        f"Tesseract CER written {score:.3f}  vs ground truth {truth_cer:.3f} (writers {styles}; {ratio:.1f}x)"
    )
    print(f"recognizer CER written {recognizer_cer:.3f}  vs ground truth {recognizer_truth_cer:.3f}")

    random_seed = (
        args.random_seed if args.random_seed is not None else int(np.random.SeedSequence().entropy % 2**31)
    )
    random = held_out_phrases(args.random, random_seed)
    random_cer, random_reads, _, random_written = score_checkpoint(
        path, random, args.temperature, args.seed, image_dir / "random", *drafting
    )
    random_recognized, random_recognizer_cer = read_back(random_written, recognizer)
    print(f"{args.random} random phrases of held-out words (--random-seed {random_seed}):")
    for phrase, read, rec in zip(random, random_reads, random_recognized, strict=True):
        print(f"{phrase:<22} {read:<26} {rec}")
    print(f"Tesseract CER {random_cer:.3f}, recognizer CER {random_recognizer_cer:.3f}")

    curve = []
    if args.curve:
        for snapshot in sorted((Path(args.curve) / "checkpoints").glob("step*.pt")):
            snap_cer, _, snap_extra, _ = score_checkpoint(
                snapshot, phrases, args.temperature, args.seed, image_dir / snapshot.stem, layout=args.layout
            )
            minutes = snap_extra.get("train_seconds", 0) / 60
            curve.append(
                {"step": snap_extra.get("step"), "minutes": round(minutes, 2), "cer": round(snap_cer, 4)}
            )
            print(f"  step {snap_extra.get('step'):>6}  {minutes:5.1f} min  CER {snap_cer:.3f}")
    result = {
        "cer": round(score, 4),
        "ground_truth_cer": round(truth_cer, 4),
        "recognizer_cer": round(recognizer_cer, 4),
        "recognizer_real_cer": round(recognizer_truth_cer, 4),
        "random_phrases_cer": round(random_cer, 4),
        "random_phrases_recognizer_cer": round(random_recognizer_cer, 4),
        "random_seed": random_seed,
        "checkpoint": str(path),
        "drafts": args.drafts if draft_reader else 1,
        "draft_reader": (args.draft_reader or "shipped") if draft_reader else None,
        "layout": laid_out(args.layout, Writer.from_checkpoint(path)),
    }
    if curve:
        result["cer_vs_minutes"] = curve
    print(json.dumps(result))
    return 0


def score_word_bank(args: argparse.Namespace) -> int:
    """The --bigbank mode: held-out words and 3-word phrases of them, generated vs real, one reader."""
    if not bigbank_path().is_file():
        print(f"bench/legibility.py: --bigbank needs {bigbank_path()} (../shared/data)", file=sys.stderr)
        return 2
    path = resolve_checkpoint_path(args.checkpoint)
    checkpoint = load_checkpoint(path)
    spacing = float(checkpoint.extra.get("train_config", {}).get("data", {}).get("spacing", 0.0))
    recognizer = Recognizer.from_checkpoint(args.recognizer)
    draft_reader = chosen_reader(args)
    seed = args.random_seed if args.random_seed is not None else int(np.random.SeedSequence().entropy % 2**31)
    rng = np.random.default_rng(seed)
    held_out = load_source("bigbank", split=args.split).samples
    words = [
        held_out[i] for i in rng.choice(len(held_out), size=min(args.words, len(held_out)), replace=False)
    ]
    lines = [
        stitch([words[i] for i in rng.choice(len(words), size=3, replace=False)], rng)
        for _ in range(args.phrases)
    ]
    writer = Writer.from_loaded(checkpoint)
    figures = {}
    image_dir = Path(args.out) if args.out else None
    for name, real in (("words", words), ("phrases", lines)):
        real = [thin_sample(s, spacing) for s in real]
        texts = [s.text for s in real]
        sampling = Sampling(temperature=args.temperature, seed=args.seed)
        written = write_phrases(writer, texts, sampling, args.drafts, draft_reader, args.layout)
        generated_reads, _ = read_back(written, recognizer)
        real_reads, _ = read_back(real, recognizer)
        if image_dir is not None:
            for i, (w, r) in enumerate(zip(written, real, strict=True)):
                for kind, sample in (("written", w), ("real", r)):
                    ink = integrate(sample.deltas, sample.events[:, 0])
                    render_ink(ink, image_dir / name / f"{kind}_{i:02d}.png")
        print(f"{name} ({len(texts)}): text, read in the generated ink, read in the real strokes")
        for text, gen, rea in zip(texts, generated_reads, real_reads, strict=True):
            print(f"  {text:<30} {gen:<24} {rea}")
        key = "" if name == "words" else "phrases_"
        bare = [t.replace(" ", "") for t in texts]
        figures[f"{key}recognizer_cer"] = cer([r.replace(" ", "") for r in generated_reads], bare)
        figures[f"{key}recognizer_real_cer"] = cer([r.replace(" ", "") for r in real_reads], bare)
        figures[f"{key}ratio"] = figures[f"{key}recognizer_cer"] / max(
            figures[f"{key}recognizer_real_cer"], 1e-9
        )
        if name == "phrases":
            figures["phrases_recognizer_cer_with_blanks"] = cer(generated_reads, texts)
            figures["phrases_recognizer_real_cer_with_blanks"] = cer(real_reads, texts)
    print(
        f"checkpoint {path} (step {checkpoint.extra.get('step')}), "
        f"recognizer {args.recognizer or 'shipped'}, --random-seed {seed}"
        + (
            f", best of {args.drafts} drafts as {args.draft_reader or 'shipped'} reads them"
            if draft_reader
            else ""
        )
    )
    for key in ("", "phrases_"):
        print(
            f"{key or 'words_'}recognizer CER generated {figures[f'{key}recognizer_cer']:.3f} vs real "
            f"{figures[f'{key}recognizer_real_cer']:.3f}: {figures[f'{key}ratio']:.2f}x (target <= 1.3x)"
        )
    result = {k: round(v, 4) for k, v in figures.items()}
    print(
        json.dumps(
            {
                **result,
                "random_seed": seed,
                "split": args.split,
                "checkpoint": str(path),
                "recognizer": args.recognizer,
                "drafts": args.drafts if draft_reader else 1,
                "draft_reader": (args.draft_reader or "shipped") if draft_reader else None,
                "layout": laid_out(args.layout, writer),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
