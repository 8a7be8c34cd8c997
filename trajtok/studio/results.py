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
from trajtok.plot import ink_figure
from trajtok.sample import Sample
from trajtok.strokes import integrate
from trajtok.studio.requests import BadRequest

MAX_RESULTS = 64
MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml", "npz": "application/octet-stream"}


@dataclass
class WrittenPhrase:
    sample: Sample  # the new steps (text = the phrase)
    prime: Sample | None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def points(self) -> np.ndarray:
        """(T, 3) absolute [x, y, pen_lift], ending with a lift, as `trajtok write` lays out one line."""
        points = integrate(self.sample.deltas, self.sample.events[:, 0])
        if len(points):
            points[-1, 2] = 1.0
        return points

    def download(self, fmt: str) -> bytes:
        if fmt not in MEDIA_TYPES:
            raise BadRequest(f"no download as {fmt!r}: use one of {', '.join(MEDIA_TYPES)}", 404)
        out = io.BytesIO()
        if fmt == "npz":
            save_written(out, self.points, [self.points], [self.sample.text])
        else:
            ink_figure(self.points).savefig(out, format=fmt, facecolor="white")
        return out.getvalue()

    def attention(self, writer: Writer) -> dict:
        """The last layer's cross-attention (steps x characters of what the model read), for the heatmap."""
        if not len(self.sample):
            raise BadRequest("the phrase has no steps, so no attention to show")
        matrix = writer.attention(self.sample, self.prime)
        return {
            "text": writer.conditioning_text(self.sample.text, self.prime),
            "matrix": np.round(matrix, 3).tolist(),
        }


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
