"""Writing in a person's hand from a few samples: load and check the samples, lay them out as one prime.

    samples = load_style("my_hand.json")                 # 1-5 samples of one writer, each with its text
    prime = style_prime(samples, writer.text_tokenizer)   # checked, then one line: "word1 word2 ..."
    writer.write("new text", prime=prime)                 # the model continues that line with the new text

The design is multi-sample priming: the model was trained on whole lines of one writer, so a line that
starts with the reference samples (teacher-forced, with their texts) is continued in the same hand. The
samples go side by side on one baseline, `gap` x-heights apart, their texts joined with blanks, so the
text the model reads is "<reference texts> <new text>" and the new text may differ from every reference.

A style is one hand: samples that declare different writers (cursive-transformer metadata.author, the
.npz `writer`/`writers` arrays, Sample.style_id) are refused, as are samples without text, non-finite or
degenerate points, and text outside the model's alphabet; `StyleError` names the sample and what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trajtok.errors import DataError
from trajtok.ink_features import check_ink
from trajtok.ink_files import read_ink_file
from trajtok.sample import Sample
from trajtok.strokes import integrate
from trajtok.text import CharTokenizer

MAX_STYLE_SAMPLES = 5
STYLE_GAP = 1.0  # x-heights of blank between reference samples laid out on one line (a word gap)


class StyleError(DataError):
    """Style samples that cannot make a style (empty, several writers, no text, bad points, odd text)."""


@dataclass(frozen=True)
class StyleSample:
    """One reference sample and where it came from (a file record, an index), for error messages."""

    sample: Sample
    name: str
    writer: str | None = None  # the declared hand (author name, style_id), None where undeclared


def load_style(path: str | Path) -> list[StyleSample]:
    """The records of a style file (cursive-transformer .json/.json.zip, or an .npz as `trajtok write`
    writes it, with `texts`), each with its declared writer; StyleError when one is unreadable or the file
    holds no samples. The samples are checked as a style by `style_prime` / `check_style`."""
    records = read_ink_file(path)
    if not records:
        raise StyleError(
            f"{path}: holds no samples; a style file needs 1-{MAX_STYLE_SAMPLES} samples of one hand"
        )
    out = []
    for record in records:
        if record.sample is None:
            raise StyleError(f"{record.name}: {record.problem}")
        sample = record.sample
        text = sample.text or record.truth or ""
        out.append(StyleSample(Sample(sample.deltas, sample.events, text=text), record.name, record.writer))
    return out


def from_samples(samples: Sequence[Sample], names: Sequence[str] | None = None) -> list[StyleSample]:
    """In-memory samples (e.g. drawn in the studio) as style samples, named `names` (default "style
    sample i"), each declaring the writer its `style_id` names (None when unset)."""
    names = names or [f"style sample {i}" for i in range(len(samples))]
    return [
        StyleSample(s, name, None if s.style_id is None else f"style_id {s.style_id}")
        for s, name in zip(samples, names, strict=True)
    ]


def check_style(samples: Sequence[StyleSample], text_tokenizer: CharTokenizer) -> None:
    """StyleError, naming the sample, unless these are 1..MAX_STYLE_SAMPLES readable samples of one hand,
    each with a text the model can read."""
    if not samples:
        raise StyleError(f"no style samples; give 1-{MAX_STYLE_SAMPLES} samples of one hand")
    if len(samples) > MAX_STYLE_SAMPLES:
        raise StyleError(
            f"{len(samples)} style samples; give at most {MAX_STYLE_SAMPLES} (choose the ones to use)"
        )
    declared = {s.writer for s in samples if s.writer is not None}
    if len(declared) > 1 or (declared and any(s.writer is None for s in samples)):
        hands = ", ".join(f"{s.name}: {s.writer or 'undeclared'}" for s in samples)
        raise StyleError(
            f"style samples of several writers ({hands}); a style is one hand: give one writer's"
        )
    for s in samples:
        if s.sample.deltas.ndim != 2 or s.sample.deltas.shape[1] != 2:
            raise StyleError(
                f"{s.name}: deltas of shape {s.sample.deltas.shape}; a style needs 2-D pen strokes"
            )
        problem = check_ink(s.sample)
        if problem:
            raise StyleError(f"{s.name}: {problem}")
        if not s.sample.text.strip():
            raise StyleError(
                f"{s.name}: has no text; a style sample needs the text it shows (the model reads it)"
            )
        if problem := text_tokenizer.alphabet_problem(s.sample.text):
            raise StyleError(f"{s.name}: {problem}")


def check_fits(prime: Sample, phrases: Sequence[str], line_chars: int | None) -> None:
    """StyleError when the prime's text, a blank and a word of a phrase are longer than the lines the model
    was trained on (`Writer.line_chars`; None: unknown, not checked): past them it writes scribble, and a
    phrase is cut into lines at its blanks only."""
    words = [word for phrase in phrases for word in phrase.split()] if line_chars else []
    for word in words:
        n = len(f"{prime.text} {word}")
        if n > line_chars:
            raise StyleError(
                f"style texts {prime.text!r} and the word {word!r} make a line of {n} characters; this model "
                f"was trained on lines of at most {line_chars}: use fewer or shorter style samples"
            )


def style_prime(
    samples: Sequence[StyleSample], text_tokenizer: CharTokenizer, gap: float = STYLE_GAP
) -> Sample:
    """Checked style samples -> one Sample to prime `Writer.write` with: the samples side by side on one
    baseline, each starting `gap` right of the ink before it, pen lifted at the end of each, texts joined
    with blanks."""
    check_style(samples, text_tokenizer)
    deltas, lifts = [], []
    end = right = None  # the line so far: its last point, the right edge of its ink
    for s in samples:
        points = integrate(s.sample.deltas, s.sample.events[:, 0]).astype(np.float64)
        own = s.sample.deltas.astype(np.float32)  # kept exactly, so the model sees the sample's own steps
        if end is not None:
            shift = right + gap - points[:, 0].min()
            points[:, 0] += shift
            own = np.concatenate([(points[0, :2] - end)[None].astype(np.float32), own[1:]])
        lift = s.sample.events[:, 0].astype(bool).copy()
        lift[-1] = True
        deltas.append(own)
        lifts.append(lift)
        end, right = points[-1, :2], float(points[:, 0].max())
    text = " ".join(s.sample.text.strip() for s in samples)
    return Sample(
        np.concatenate(deltas), np.concatenate(lifts)[:, None], text=text, style_id=samples[0].sample.style_id
    )
