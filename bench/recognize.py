"""Recognition: accuracy of the shipped recognizer, the write -> read round trip, and reading speed.

Usage: .venv/bin/python bench/recognize.py [--checkpoint RUN] [--writer RUN] [--bigbank-run RUN] [--beam N]

- hershey_cer: the recognizer (default: the shipped one) on the synthetic corpus's validation phrases
  (never written in training) in all six writers' hands, greedy; `hershey_cer_beam` with --beam (8).
  Baseline in the same run: Tesseract on the same phrases drawn as ink (when it is installed).
- roundtrip_cer: the writer (default: the shipped one, greedy) writes the validation phrases and 30 random
  phrases of the validation text sampler (held-out words, never in training); the recognizer reads them.
- words_per_s: single words (the validation phrases' words, six writers) read in batches of 256 on one
  thread, feature extraction included, best of 3; baseline: the same words one at a time.
  word_latency_ms: one word, median of 50. `*_per_cpu_s` figures divide by this process's CPU time
  instead of the wall clock: what one idle core gives when other work shares the machine.
- bigbank_cer (--bigbank-run RUN, a `trajtok train recognizer data.source=bigbank` run): its best.pt on
  the held-out bigbank words (the test split; val, which chose best.pt, is printed too), with its training
  time. bigbank stays outside the repository (../shared/data); no model trained on it is shipped.
- --encoders: CPU seconds per training step (batch 32 of synthetic phrases, one thread) of the default
  BiLSTM and of a transformer encoder of about the same size (model.encoder=transformer model.hidden=64
  model.layers=4): with the validation CER both reach after the same number of steps, what the
  choice of encoder rests on (README).
Last line: JSON with these figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from trajtok.data import load_source
from trajtok.data.hershey import STYLES, VALIDATION_PHRASES, synthesize, test_samples
from trajtok.data.texts import held_out_phrases
from trajtok.generate import Sampling, Writer
from trajtok.ink_features import features_from_points
from trajtok.recognize import Recognizer
from trajtok.recognizer import InkReader, RecognizerConfig
from trajtok.recognizer_checkpoint import load_recognizer
from trajtok.recognizer_train import RecognizerTrainConfig, batch_tensors, ctc_loss, make_ink_set
from trajtok.text import CharTokenizer
from trajtok.text_metrics import cer

N_RANDOM = 30


def timed(fn) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of fn()."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def tesseract_cer(samples, texts) -> float | None:
    if shutil.which("tesseract") is None:
        return None
    sys.path.insert(0, str(Path(__file__).parent))
    from legibility import ocr

    with tempfile.TemporaryDirectory() as tmp:
        reads = [ocr(s, Path(tmp) / f"{i}.png") for i, s in enumerate(samples)]
    return cer(reads, texts)


ENCODERS = {"bilstm": {}, "transformer": {"encoder": "transformer", "hidden": 64, "layers": 4}}


def training_step_seconds(repeats: int = 6) -> dict[str, float]:
    """CPU seconds per training step of each encoder, on the same batches."""
    config = RecognizerTrainConfig()
    samples = load_source("hershey", split="val", n=32 * repeats, max_chars=config.data.max_chars).samples
    data = make_ink_set(samples, CharTokenizer(), config.model.resample_step)
    batches = [
        batch_tensors(
            [features_from_points(data.points[i], config.model.resample_step) for i in rows],
            [data.labels[i] for i in rows],
        )
        for rows in np.array_split(np.arange(len(data)), repeats)
    ]
    out = {}
    for name, settings in ENCODERS.items():
        torch.manual_seed(0)
        model = InkReader(RecognizerConfig(**settings), CharTokenizer().vocab_size)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

        def steps(model=model, optimizer=optimizer):
            for batch in batches:
                loss = ctc_loss(model, batch)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

        steps()  # warm-up
        out[name] = timed(steps)[1] / repeats
        print(f"{name:<12} {model.num_parameters():>9,} parameters, {out[name]:.3f} CPU s per training step")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", help="recognizer run dir or .pt (default: the shipped recognizer)")
    parser.add_argument("--writer", help="handwriting run dir or .pt (default: the shipped writer)")
    parser.add_argument("--bigbank-run", metavar="RUN", help="a recognizer run trained on bigbank")
    parser.add_argument("--beam", type=int, default=8, help="beam width for the beam figure (default: 8)")
    parser.add_argument("--no-tesseract", action="store_true", help="skip the Tesseract baseline")
    parser.add_argument("--encoders", action="store_true", help="also time a training step of each encoder")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    recognizer = Recognizer.from_checkpoint(args.checkpoint)
    extra = load_recognizer(args.checkpoint).extra
    print(
        f"recognizer {args.checkpoint or 'shipped'}: {recognizer.model.num_parameters():,} parameters, "
        f"step {extra.get('step')}, {extra.get('train_seconds', 0) / 60:.1f} training min"
    )

    # Accuracy on the synthetic validation phrases, every writer.
    samples = test_samples(seed=0)
    truths = [s.text for s in samples]
    reads = [r.text for r in recognizer.recognize(samples)]
    hershey_cer = cer(reads, truths)
    beam_reads = [r.text for r in recognizer.recognize(samples, beam=args.beam)]
    hershey_cer_beam = cer(beam_reads, truths)
    for style, writer_style in enumerate(STYLES):
        rows = [i for i, s in enumerate(samples) if s.style_id == style]
        style_cer = cer([reads[i] for i in rows], [truths[i] for i in rows])
        print(f"  writer {style} {writer_style.name:<15} CER {style_cer:.4f}")
    wrong = [(t, r) for t, r in zip(truths, reads, strict=True) if t != r]
    for truth, read in wrong[:10]:
        print(f"    {truth!r} read as {read!r}")
    ocr_cer = None if args.no_tesseract else tesseract_cer(samples, truths)
    ocr_text = "" if ocr_cer is None else f"; Tesseract on the same ink {ocr_cer:.4f}"
    print(f"hershey validation phrases x {len(STYLES)} writers: CER {hershey_cer:.4f} greedy, "
          f"{hershey_cer_beam:.4f} beam {args.beam}{ocr_text}")  # fmt: skip

    # Round trip: the writer writes, the recognizer reads.
    writer = Writer.from_checkpoint(args.writer)
    random = held_out_phrases(N_RANDOM, seed=7)
    written_val = writer.write(list(VALIDATION_PHRASES), Sampling(temperature=0.0))
    written_random = writer.write(random, Sampling(temperature=0.0))
    read_val = [r.text for r in recognizer.recognize(written_val)]
    read_random = [r.text for r in recognizer.recognize(written_random)]
    roundtrip_val, roundtrip_random = cer(read_val, VALIDATION_PHRASES), cer(read_random, random)
    roundtrip = cer(read_val + read_random, [*VALIDATION_PHRASES, *random])
    for truth, read in [
        (t, r) for t, r in zip([*VALIDATION_PHRASES, *random], read_val + read_random, strict=True) if t != r
    ][:8]:
        print(f"    written {truth!r}, read {read!r}")
    print(f"round trip (writer {args.writer or 'shipped'}, greedy): CER {roundtrip:.4f} (validation "
          f"phrases {roundtrip_val:.4f}, {N_RANDOM} random phrases {roundtrip_random:.4f})")  # fmt: skip

    # Speed, one thread.
    words = [w for phrase in VALIDATION_PHRASES for w in phrase.split()]
    word_samples = [synthesize(w, style, seed=i) for i, w in enumerate(words) for style in range(len(STYLES))]
    word_samples = (word_samples * (1 + 1024 // len(word_samples)))[:1024]
    recognizer.recognize(word_samples[:64])  # warm-up
    batched = min(timed(lambda: recognizer.recognize(word_samples, batch_size=256)) for _ in range(3))
    single = timed(lambda: [recognizer.recognize([s]) for s in word_samples[:200]])
    words_per_s, words_per_cpu_s = len(word_samples) / batched[0], len(word_samples) / batched[1]
    single_per_s = 200 / single[0]
    latencies = [timed(lambda: recognizer.recognize([word_samples[0]]))[0] for _ in range(50)]
    word_latency_ms = 1000 * statistics.median(latencies)
    print(f"speed, 1 thread: {words_per_s:.0f} words/s batched ({words_per_cpu_s:.0f} per CPU second), "
          f"{single_per_s:.0f} words/s one at a time (batched {words_per_s / single_per_s:.1f}x); "
          f"one word {word_latency_ms:.1f} ms")  # fmt: skip

    result = {
        "hershey_cer": round(hershey_cer, 4),
        "hershey_cer_beam": round(hershey_cer_beam, 4),
        "tesseract_hershey_cer": None if ocr_cer is None else round(ocr_cer, 4),
        "roundtrip_cer": round(roundtrip, 4),
        "roundtrip_cer_validation": round(roundtrip_val, 4),
        "roundtrip_cer_random": round(roundtrip_random, 4),
        "words_per_s": round(words_per_s),
        "words_per_cpu_s": round(words_per_cpu_s),
        "words_per_s_one_at_a_time": round(single_per_s),
        "word_latency_ms": round(word_latency_ms, 2),
    }
    if args.encoders:
        seconds = training_step_seconds()
        result |= {f"{name}_train_step_cpu_s": round(value, 3) for name, value in seconds.items()}
    if args.bigbank_run:
        run = Recognizer.from_checkpoint(args.bigbank_run)
        run_extra = load_recognizer(args.bigbank_run).extra
        figures = {}
        for split in ("test", "val"):
            held_out = load_source("bigbank", split=split).samples
            figures[split] = cer([r.text for r in run.recognize(held_out)], [s.text for s in held_out])
            print(f"bigbank {split}: {len(held_out)} words, CER {figures[split]:.4f}")
        minutes = run_extra.get("train_seconds", 0) / 60
        print(f"bigbank run {args.bigbank_run}: step {run_extra.get('step')}, {minutes:.1f} training min")
        result |= {
            "bigbank_cer": round(figures["test"], 4),
            "bigbank_val_cer": round(figures["val"], 4),
            "bigbank_train_minutes": round(minutes, 1),
        }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
