"""The one data format at the seams: a trajectory sample and a named set of them.

Every source (fonts, JSON, IAM-OnDB, stroke-3, gripper demos) converts to `Sample` on entry; the tokenizer,
model and plots only ever see this.

Conventions for handwriting: deltas in x-height units (x-height ~ 1), y up; `deltas[0]` is the move from the
origin to the first point; `events[:, 0]` (pen_lift) is True on the last point of each stroke.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

HANDWRITING_DIMS = ("dx", "dy")
HANDWRITING_EVENTS = ("pen_lift",)


@dataclass
class Sample:
    deltas: np.ndarray  # (T, D) float32
    events: np.ndarray  # (T, E) bool
    text: str = ""
    style_id: int | None = None
    char_index: np.ndarray | None = None  # (T,) int32: index into `text` of each point, -1 where unknown
    word_index: np.ndarray | None = None  # (T,) int32: which word of `text` (by blanks) each point is of, -1
    state: np.ndarray | None = None  # (S,) float32 conditioning vector (e.g. object / tray positions)

    def __len__(self) -> int:
        return int(self.deltas.shape[0])


@dataclass
class SampleSet:
    samples: list[Sample]
    dim_names: tuple[str, ...] = HANDWRITING_DIMS
    event_names: tuple[str, ...] = HANDWRITING_EVENTS
    source: str = ""
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> count, never silent
    unknown_chars: dict[str, int] = field(default_factory=dict)
    mapping: dict = field(default_factory=dict)  # robot sources: how the columns became channels, in words

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> Sample:
        return self.samples[i]

    def deltas(self) -> list[np.ndarray]:
        return [s.deltas for s in self.samples]

    def events(self) -> list[np.ndarray]:
        return [s.events for s in self.samples]
