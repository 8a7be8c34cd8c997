"""A small cursive-transformer word bank (the format of bigbank, `*.json.zip`), written from the synthetic
hand when the tests run: its records, a record with no points, one with a tracing glitch, a truncated copy.
It is built, not tracked, so nothing in the repository looks like the bigbank file in ../shared/data."""

import json
import zipfile
from pathlib import Path

import numpy as np

from trajtok.data.hershey import synthesize
from trajtok.strokes import integrate

WORDS = [("hello", 2), ("Quiz", 3), ("42", 0), ("daily", 1), ("café", 2), ("jump!", 3)]


def absolute(text, style, seed):
    s = synthesize(text, style, seed)
    return integrate(s.deltas, s.events[:, 0])  # (T,3) x, y up, pen_lift


def cursive_record(text, style, seed, aspect=6.0):
    """One record as the cursive transformer stores it: page units, y down, x divided by the aspect ratio."""
    p = absolute(text, style, seed).astype(np.float64)
    page = 0.06  # page units per x-height
    x = 0.05 + p[:, 0] * page / aspect
    y = 0.6 - p[:, 1] * page
    pts = [
        [round(float(a), 4), round(float(b), 4), 0 if lift else 1]
        for a, b, lift in zip(x, y, p[:, 2], strict=True)
    ]
    return {
        "metadata": {
            "author": "fixture",
            "asciiSequence": text,
            "pointCount": len(pts),
            "strokeCount": int(p[:, 2].sum()),
            "aspectRatio": aspect,
        },
        "points": pts,
    }


def write_word_bank(folder: Path) -> Path:
    """folder/words.json.zip (WORDS, then an empty record and a glitched one) and folder/truncated.json.zip
    (its first 200 bytes); returns the folder."""
    records = [cursive_record(t, s, i) for i, (t, s) in enumerate(WORDS)]
    records.append({"metadata": {"asciiSequence": "empty", "aspectRatio": 6}, "points": []})
    jump = cursive_record("far", 0, 9)
    jump["points"][3][0] += 5.0  # a tracing glitch: one point 5 pages to the right
    records.append(jump)
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / "words.json.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("words.json", json.dumps(records))
    (folder / "truncated.json.zip").write_bytes((folder / "words.json.zip").read_bytes()[:200])
    return folder
