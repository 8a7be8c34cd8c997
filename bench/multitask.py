"""One model both ways, or two models: the multitask writer-reader against the separate writer and recognizer
at equal training time.

Usage: .venv/bin/python bench/multitask.py [--minutes M] [--threads N] [--out DIR]

Three runs on the same data (the handwriting defaults: 12,000 samples of the synthetic corpus, the print
writers), each timed on this machine: the separate writer (`trajtok train handwriting`) and the separate
recognizer (`trajtok train recognizer` on the same samples) for M minutes each, and the multitask model
(`trajtok train multitask`) for 2 M minutes, the time the other two take together. Each run's steps are set
from its seconds per step, measured first on a short run of the same settings (data preparation is not
counted, and every run uses --threads torch threads, default 0 = every core), so the schedules end as they
would.

- Reading: greedy CER on the validation phrases (never a training text) in each training writer's hand,
  read by the separate recognizer and by the multitask model (`read_cer_*`).
- Writing: each writer writes the same phrases greedily, as `trajtok write` does; Tesseract reads them
  (bench/legibility.py's OCR) and so does the shipped recognizer (`write_cer_*`, `write_recognizer_cer_*`).
Ratios multitask / separate; the target is both CERs within 10 % of the separate models' (ratio <= 1.1).
Last line: JSON with these figures and each run's training seconds and steps.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from trajtok.config import load_config
from trajtok.data.hershey import VALIDATION_PHRASES, style_ids, test_samples
from trajtok.generate import Sampling, Writer
from trajtok.recognize import Recognizer, read_back, shipped_recognizer
from trajtok.recognizer_train import RecognizerTrainConfig, train_recognizer
from trajtok.text_metrics import cer
from trajtok.train import train
from trajtok.train_config import load_train_config

sys.path.insert(0, str(Path(__file__).parent))
from legibility import ocr  # noqa: E402

PROBE_STEPS, PROBE_SAMPLES = (
    40,
    512,
)  # the short run that measures seconds per step (the first 10 not counted)


class StepClock:
    """A training `progress` callback that times the steps after the first few and before the last (which
    also validates, checkpoints and writes samples)."""

    def __init__(self, skip: int = 10):
        self.skip, self.start, self.end, self.steps = skip, None, None, 0

    def __call__(self, step: int, total: int, metrics: dict) -> None:
        if step == self.skip:
            self.start = time.monotonic()
        elif self.skip < step < total:
            self.end, self.steps = time.monotonic(), step - self.skip

    @property
    def seconds_per_step(self) -> float:
        return (self.end - self.start) / self.steps


def configs(kind: str, threads: int, overrides: list[str]):
    """The settings of one kind of run: the writer's, the multitask model's or the recognizer's defaults;
    the recognizer reads the writer's data (its writers, as many samples)."""
    if kind == "recognizer":
        data = load_train_config().data
        same_data = [f"data.styles={data.styles}", f"data.n_train={data.n_train}"]
        return load_config(RecognizerTrainConfig, None, [f"threads={threads}", *same_data, *overrides])
    task = "multitask" if kind == "multitask" else "handwriting"
    return load_train_config(
        task, None, [f"threads={threads}", "sample_every=0", "snapshot_every=0", *overrides]
    )


def run(kind: str, run_dir: Path, threads: int, overrides: list[str], progress=None):
    config = configs(kind, threads, overrides)
    trainer = train_recognizer if kind == "recognizer" else train
    return trainer(config, run_dir, progress=progress)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=4.0, help="training minutes of each separate model")
    parser.add_argument("--threads", type=int, default=0, help="torch threads of every run (0 = every core)")
    parser.add_argument("--out", type=Path, help="keep the runs here (default: a temporary directory)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {args.minutes:g} min per model")
    styles = load_train_config().data.styles  # the writers every run trains on
    out = args.out or Path(tempfile.mkdtemp(prefix="multitask-"))
    budget = {
        "writer": args.minutes * 60,
        "recognizer": args.minutes * 60,
        "multitask": 2 * args.minutes * 60,
    }

    summaries = {}
    for kind, seconds in budget.items():
        clock = StepClock()
        probe = [f"steps={PROBE_STEPS}", f"data.n_train={PROBE_SAMPLES}"]  # the same lengths, less to prepare
        run(kind, out / f"probe-{kind}", args.threads, probe, clock)
        steps = max(int(seconds / clock.seconds_per_step), 1)
        print(f"{kind}: {clock.seconds_per_step:.3f} s/step -> {steps} steps for {seconds / 60:g} min")
        every = f"checkpoint_every={max(steps // 4, 1)}"
        started = time.monotonic()
        summary = run(kind, out / kind, args.threads, [f"steps={steps}", every])
        loop_s = time.monotonic() - started
        summaries[kind] = {"steps": steps, "seconds": round(loop_s, 1), "summary": summary}
        print(f"  trained {steps} steps in {loop_s / 60:.1f} min, data preparation included")

    # Reading: the validation phrases in each training writer's hand.
    wanted = set(style_ids(styles))
    samples = [s for s in test_samples(seed=0) if s.style_id in wanted]
    truths = [s.text for s in samples]
    read = {}
    for kind in ("recognizer", "multitask"):
        reader = Recognizer.from_checkpoint(out / kind)
        read[kind] = cer([r.text for r in reader.recognize(samples)], truths)
        print(f"reading, {kind:<10}: CER {read[kind]:.4f} on {len(samples)} validation phrases")

    # Writing: the same phrases written greedily, read by Tesseract and by the shipped recognizer.
    phrases = list(VALIDATION_PHRASES)
    judge = shipped_recognizer()
    write, write_rec = {}, {}
    for kind in ("writer", "multitask"):
        written = Writer.from_checkpoint(out / kind).write(phrases, Sampling(temperature=0.0))
        with tempfile.TemporaryDirectory() as tmp:
            reads = [ocr(s, Path(tmp) / f"{i}.png") for i, s in enumerate(written)]
        write[kind] = cer(reads, phrases)
        write_rec[kind] = read_back(written, judge)[1] if judge else float("nan")
        print(
            f"writing, {kind:<10}: Tesseract CER {write[kind]:.4f}, shipped recognizer {write_rec[kind]:.4f}"
        )

    ratios = {
        "read_ratio": read["multitask"] / max(read["recognizer"], 1e-9),
        "write_ratio": write["multitask"] / max(write["writer"], 1e-9),
        "write_recognizer_ratio": write_rec["multitask"] / max(write_rec["writer"], 1e-9),
    }
    print(
        "multitask / separate: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()) + " (target <= 1.1)"
    )
    result = {
        "minutes_per_model": args.minutes,
        "read_cer_multitask": round(read["multitask"], 4),
        "read_cer_separate": round(read["recognizer"], 4),
        "write_cer_multitask": round(write["multitask"], 4),
        "write_cer_separate": round(write["writer"], 4),
        "write_recognizer_cer_multitask": round(write_rec["multitask"], 4),
        "write_recognizer_cer_separate": round(write_rec["writer"], 4),
        **{k: round(v, 3) for k, v in ratios.items()},
        **{f"{k}_train_s": v["seconds"] for k, v in summaries.items()},
        **{f"{k}_steps": v["steps"] for k, v in summaries.items()},
        "load_average": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    torch.set_num_threads(1)
    raise SystemExit(main())
