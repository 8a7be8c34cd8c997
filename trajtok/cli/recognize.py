"""`trajtok recognize FILE...`: read handwriting back to text with the recognizer, one line per sample."""

from __future__ import annotations

import argparse
import json
import sys

from trajtok.cli.progress import progress_bar

HELP = """Read handwriting (pen strokes) back to text.

Files: .npz written by `trajtok write` (one sample per phrase) or stroke-3 .npz, cursive-transformer
.json / .json.zip, IAM-OnDB lineStrokes .xml. One line per sample: its name, the confidence (the model's
probability of the text it read, 0..1) and the text; --json prints one JSON object per line instead, with
the written text too when the file records it.
An unreadable sample (empty, a single point, NaN/inf, more points than a line of text has) stops the run
with one line naming it (exit 2); --skip-bad names it on stderr, reads the others and exits 1.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "recognize",
        help="read handwriting files back to text (the recognizer)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="handwriting files to read")
    p.add_argument("--checkpoint", help="recognizer run directory or .pt (default: the shipped recognizer)")
    p.add_argument("--beam", type=int, default=1, help="CTC beam width; 1 = greedy (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="one JSON object per sample")
    p.add_argument("--skip-bad", action="store_true", help="name unreadable samples, read the others")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: %(default)s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from trajtok.errors import DataError, TrajtokError
    from trajtok.ink_files import read_ink_file
    from trajtok.recognize import Recognizer

    if args.beam < 1 or args.threads < 1:
        raise ValueError("--beam and --threads must be >= 1")
    torch.set_num_threads(args.threads)
    recognizer = Recognizer.from_checkpoint(args.checkpoint)  # a bad checkpoint fails before any reading
    records, skipped = [], 0
    for path in args.files:
        try:
            found = read_ink_file(path)
        except TrajtokError as exc:
            if not args.skip_bad:
                raise
            print(f"trajtok: skipped {exc}", file=sys.stderr)
            skipped += 1
            continue
        for record in found:
            if record.problem is None:
                records.append(record)
            elif args.skip_bad:
                print(f"trajtok: skipped {record.name}: {record.problem}", file=sys.stderr)
                skipped += 1
            else:
                raise DataError(f"{record.name}: {record.problem}; or pass --skip-bad to read the others")
    with progress_bar("reading", "sample") as progress:
        readings = recognizer.recognize([r.sample for r in records], beam=args.beam, progress=progress)
    for record, reading in zip(records, readings, strict=True):
        if args.json:
            row = {"sample": record.name, "text": reading.text, "confidence": round(reading.confidence, 4)}
            if record.truth is not None:
                row["written"] = record.truth
            print(json.dumps(row))
        else:
            print(f"{record.name}  {reading.confidence:.3f}  {reading.text}")
    return 1 if skipped else 0
