"""Phrases the page has written, kept in memory a while (the latest MAX_RESULTS) for their downloads (PNG,
SVG, NPZ: the files `trajtok write` makes, by its own writers), the attention heatmap and the robot."""

from __future__ import annotations

import io
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from trajtok.generate import Writer
from trajtok.ink_files import save_written
from trajtok.page_lines import LINE_SPACING
from trajtok.plot import ink_figure, write_figure
from trajtok.sample import Sample
from trajtok.strokes import integrate
from trajtok.studio.requests import BadRequest
from trajtok.word_layout import end_to_end

MAX_RESULTS = 64
MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml", "npz": "application/octet-stream"}


@dataclass
class WrittenPhrase:
    sample: Sample  # the new steps of the page (text = the phrase)
    prime: Sample | None
    lines: list[str] = field(default_factory=list)  # the lines the phrase was written as; [] = one line
    line_steps: list[int] = field(default_factory=list)  # steps of each line
    words: list[Sample] = field(default_factory=list)  # written word by word: each word, from its origin
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def points(self) -> np.ndarray:
        """(T, 3) absolute [x, y, pen_lift] of the page, ending with a lift, as `trajtok write` lays out."""
        return _lifted_at_the_end(self.sample)

    def board_points(self) -> np.ndarray:
        """(T, 3) absolute [x, y, pen_lift]: the phrase's lines end to end on one line, for a board, which
        wraps at its own width (word_layout.end_to_end)."""
        return _lifted_at_the_end(end_to_end(self.line_samples()))

    def line_samples(self) -> list[Sample]:
        """Each line's steps as written, from its own origin (text = the line)."""
        if not self.lines:
            return [self.sample]
        points = integrate(self.sample.deltas, self.sample.events[:, 0])[:, :2]
        bounds = np.cumsum([0, *self.line_steps])
        samples = []
        for i, line in enumerate(self.lines):
            own = points[bounds[i] : bounds[i + 1]] + [0.0, i * LINE_SPACING]
            deltas = np.diff(own, axis=0, prepend=np.zeros((1, 2))).astype(self.sample.deltas.dtype)
            samples.append(Sample(deltas, self.sample.events[bounds[i] : bounds[i + 1]], text=line))
        return samples

    def download(self, fmt: str) -> bytes:
        if fmt not in MEDIA_TYPES:
            raise BadRequest(f"no download as {fmt!r}: use one of {', '.join(MEDIA_TYPES)}", 404)
        out = io.BytesIO()
        if fmt == "npz":
            lines = self.line_samples()
            own = [integrate(s.deltas, s.events[:, 0]) for s in lines]
            save_written(out, self.points, own, [s.text for s in lines])
        else:
            write_figure(ink_figure(self.points), out, fmt, facecolor="white")
        return out.getvalue()

    def attention(self, writer: Writer) -> dict:
        """The last layer's cross-attention (steps x characters of what the model read), for the heatmap.
        A phrase written as several lines (or word by word) shows each line's (word's) steps against that
        line's (word's) characters in the whole phrase (and the prime's, which every one read)."""
        if not len(self.sample):
            raise BadRequest("the phrase has no steps, so no attention to show")
        pieces = [s for s in (self.words or self.line_samples()) if len(s)]  # what was written apart
        prime_chars = len(writer.conditioning_text("", self.prime))
        text = writer.conditioning_text(" ".join(s.text for s in pieces), self.prime)
        blocks, offset = [], prime_chars
        for piece in pieces:
            matrix = writer.attention(piece, self.prime)  # (T_i, prime_chars + len(piece))
            block = np.zeros((len(matrix), len(text)), np.float32)
            block[:, :prime_chars] = matrix[:, :prime_chars]
            block[:, offset : offset + len(piece.text)] = matrix[:, prime_chars:]
            blocks.append(block)
            offset += len(piece.text) + 1
        return {"text": text, "matrix": np.round(np.concatenate(blocks), 3).tolist()}


def _lifted_at_the_end(sample: Sample) -> np.ndarray:
    """(T, 3) absolute [x, y, pen_lift] of a sample's steps, the last one lifting the pen."""
    points = integrate(sample.deltas, sample.events[:, 0])
    if len(points):
        points[-1, 2] = 1.0
    return points


class Results:
    def __init__(self, limit: int = MAX_RESULTS):
        self.limit = limit
        self._items: OrderedDict[str, WrittenPhrase] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, phrase: WrittenPhrase) -> None:
        with self._lock:
            self._items[phrase.id] = phrase
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def get(self, phrase_id: str) -> WrittenPhrase:
        with self._lock:
            phrase = self._items.get(phrase_id)
        if phrase is None:
            raise BadRequest(
                f"no written phrase {phrase_id!r} (the server keeps the latest {self.limit}); write it again",
                404,
            )
        return phrase
