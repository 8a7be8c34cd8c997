"""Lines written word by word: each word of a line written alone, then the words laid out on one line.

Why: a model trained on a word bank (lines stitched from single words, trajtok/line_stitching.py) writes a
word best at the start of a line. It ties letters to decoder positions, and on a whole line the later words
come out worse: on the bigbank test phrases the bigbank reader's CER of the 1st / 2nd / 3rd word was
0.14 / 0.42 / 0.53. Written word by word, every word starts where the model writes best, and the words are
laid out as training stitched them (`line_stitching.stitch`: a word gap and a baseline drift drawn from the
declared distributions), so every blank leaves a gap of the data's kind. The letters are the model's; only
the pen-up travel into each word is the layout's.

`write_word_by_word` writes whole lines (`trajtok write`, the benches); `WordByWordStream` lays out one
line the same way as its steps come (the studio).

A board wraps its one line of ink at words itself (trajtok.waypoints), so `trajtok sim write` and the ROS
writer write a phrase as one line of pieces (`board_pieces`): its words, word by word, else the model's
lines (a phrase longer than the lines the model learned is cut at blanks, as `trajtok write` cuts it, and
past them a model writes scribble), each written alone and laid out one after another as words are
(`write_one_line`, or `board_steps` over the pieces as their steps come), with the word of each point
where it is known (a one-word piece; the model's word spacer), so a line wraps there whatever the gap looks
like. A page already written in lines goes to a board or a plotter with its lines laid out end to end
(`end_to_end`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from trajtok.line_stitching import (
    WORD_GAP,
    draw_layout,
    first_words,
    join_words,
    piece_point_words,
    stitch,
)
from trajtok.page_lines import Step
from trajtok.sample import Sample
from trajtok.strokes import integrate

LAYOUTS = ("auto", "words", "line")  # how `trajtok write` lays out a line: auto picks by the model


def writes_word_by_word(layout: str, stitched_words: bool) -> bool:
    """Whether `layout` writes a line word by word: "words" does, "line" does not, "auto" does for a model
    trained on lines stitched from single words (`Writer.stitched_words`)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}; got {layout!r}")
    return layout == "words" or (layout == "auto" and stitched_words)


def line_words(line: str) -> list[str]:
    """The words of a line, at its blanks; a line without a word (e.g. '') is its own one 'word'."""
    return line.split() or [line]


def board_pieces(model_lines: Sequence[str], word_by_word: bool) -> list[str]:
    """The pieces a phrase is written in for a board: every word of `model_lines` (the phrase as lines the
    model can write, `Writer.lines`) word by word, else those lines."""
    return [w for line in model_lines for w in line_words(line)] if word_by_word else list(model_lines)


def write_one_line(
    write: Callable[[list[str]], list[Sample]], pieces: Sequence[str], seed: int | None
) -> Sample:
    """`pieces` written by `write` in one batch and laid out on one line as `WordByWordStream` lays them
    out from `np.random.default_rng(seed)`; one piece is that piece as written."""
    written = write(list(pieces))
    return written[0] if len(written) == 1 else stitch(written, np.random.default_rng(seed))


def end_to_end(lines: Sequence[Sample]) -> Sample:
    """A page's lines (each from its own origin) laid out one after another on one baseline, `WORD_GAP`
    apart: what a board or a plotter, which wraps at its own width, is given for a page of several lines
    (the page's own stacking would put each line's ink on top of the next board line's)."""
    if len(lines) == 1:
        return lines[0]
    between = len(lines) - 1
    return join_words(list(lines), [WORD_GAP] * between, [0.0] * between)


def board_ink(sample: Sample) -> tuple[np.ndarray, np.ndarray | None]:
    """One line's points (T, 3) and the word of each where the sample knows them (None: nowhere), as
    trajtok.waypoints takes them."""
    from trajtok.phrase_layout import point_words  # with torch: not at the CLI's start

    return integrate(sample.deltas, sample.events[:, 0]), point_words(sample)


def write_laid_out(
    write: Callable[[list[str]], list[Sample]], lines: Sequence[str], seed: int | None, word_by_word: bool
) -> tuple[list[Sample], list[list[Sample]]]:
    """The lines written by `write` whole, or word by word (`write_word_by_word`): (the lines, what was
    written for each: the line itself, or its words)."""
    if word_by_word:
        return write_word_by_word(write, lines, seed)
    samples = write(list(lines))
    return samples, [[s] for s in samples]


def write_word_by_word(
    write: Callable[[list[str]], list[Sample]], lines: Sequence[str], seed: int | None
) -> tuple[list[Sample], list[list[Sample]]]:
    """Each line's words written by `write` (texts -> samples, e.g. `Writer.write` with its sampling) in
    one batch, then laid out as one line per text: (the lines, the words of each line). A one-word line
    is that word as written. `seed` draws the gaps and drifts (None: fresh)."""
    words = [line_words(line) for line in lines]
    written = iter(write([w for line in words for w in line]))
    rng = np.random.default_rng(seed)
    parts = [[next(written) for _ in line] for line in words]
    return [line[0] if len(line) == 1 else stitch(line, rng) for line in parts], parts


class WordByWordStream:
    """One line's steps, its `pieces` (its words, `line_words`, or `board_pieces`) written one by one by
    `stream` (a piece -> its steps, e.g. `Writer.stream`) and laid out as `write_word_by_word` lays a line
    out from the same `rng`, as they come: the first piece's steps as the model makes them, each later
    piece's once it is done (its place on the line depends on its leftmost ink). `words`: each piece as
    written, from its own origin, once it is done."""

    def __init__(
        self, stream: Callable[[str], Iterable[Step]], pieces: Sequence[str], rng: np.random.Generator
    ):
        self.stream = stream
        self.texts = list(pieces)
        self.gaps, self.drifts = draw_layout(len(self.texts), rng)
        self.words: list[Sample] = []

    def __iter__(self) -> Iterator[Step]:
        with contextlib.closing(self.indexed()) as steps:
            for _, step in steps:
                yield step

    def indexed(self) -> Iterator[tuple[int, Step]]:
        """The steps, each with the piece it is of (its index in `pieces`)."""
        sent = 0
        for k, text in enumerate(self.texts):
            steps = []
            with contextlib.closing(iter(self.stream(text))) as word_steps:
                for step in word_steps:
                    steps.append(step)
                    if k == 0:
                        yield k, step
            self.words.append(steps_sample(steps, text))
            if k:
                line = join_words(self.words, self.gaps[:k], self.drifts[:k])
                for step in zip(line.deltas[sent:], line.events[sent:], strict=True):
                    yield k, step
            sent += len(steps)


def board_steps(
    stream_words: Callable[[str], Iterable[tuple[int, Step]]],
    pieces: Sequence[str],
    rng: np.random.Generator,
) -> Iterator[tuple[int, Step]]:
    """`pieces` (`board_pieces`) streamed on one line (`WordByWordStream`; one piece: its own steps), each
    step with the word of the phrase it is of, as `write_one_line`'s sample declares it
    (`piece_point_words`; -1 where unknown: the board finds those words at their gaps,
    trajtok.word_segmenter). `stream_words`: a piece -> its steps, each with its word of the piece (e.g.
    `Writer.stream_words`)."""
    firsts = first_words(list(pieces))
    own: list[list[int]] = []  # each piece's own words, step by step, as it streams

    def piece_steps(text: str) -> Iterator[Step]:
        own.append([])
        for word, step in stream_words(text):
            own[-1].append(word)
            yield step

    def phrase_word(k: int, j: int) -> int:
        return int(piece_point_words(pieces[k], firsts[k], np.array(own[k][j : j + 1]), 1)[0])

    if len(pieces) == 1:
        for j, step in enumerate(piece_steps(pieces[0])):
            yield phrase_word(0, j), step
        return
    taken = [0] * len(pieces)  # steps of each piece handed out
    with contextlib.closing(WordByWordStream(piece_steps, pieces, rng).indexed()) as steps:
        for k, step in steps:
            yield phrase_word(k, taken[k]), step
            taken[k] += 1


def steps_sample(steps: Sequence[Step], text: str) -> Sample:
    """Steps (delta (D,), events (E,)) as one sample of `text`."""
    if not steps:
        return Sample(np.zeros((0, 2), np.float32), np.zeros((0, 1), bool), text=text)
    deltas = np.stack([np.asarray(d, np.float32) for d, _ in steps])
    return Sample(deltas, np.stack([np.asarray(e, bool) for _, e in steps]), text=text)
