"""Training a style encoder: each sample is shown the start of another sample by the same writer.

The model learns to write a text in the hand of a reference whose text differs (model.style_steps > 0,
trajtok.model.StyleEncoder). A row's reference is another row of its writer (`EncodedSet.writers`), cut to
its first r steps, r drawn between MIN_REFERENCE_STEPS and style_steps: as short as one word, as long as
the encoder reads, so that one reference word or a few samples laid out on a line (trajtok.style) are
both what it learned from. A `no_style_fraction` of rows get no reference (the no_style token).
"""

from __future__ import annotations

import numpy as np
import torch

from trajtok.batching import EncodedSet
from trajtok.errors import ConfigError

MIN_REFERENCE_STEPS = 12  # about two letters of thinned handwriting


class StyleReferences:
    """Reference steps for batches of an encoded set whose rows declare their writer."""

    def __init__(self, data: EncodedSet, style_steps: int, source: str):
        if data.writers is None:
            raise ConfigError(
                f"model.style_steps={style_steps}: the samples of {source} do not declare their writer "
                "(style_id), so no reference of the same hand can be chosen; set model.style_steps=0"
            )
        self.data = data
        self.style_steps = style_steps
        writers = np.asarray(data.writers)
        self.rows_of = {w: np.flatnonzero(writers == w) for w in np.unique(writers)}
        self.writer_index = {w: i for i, w in enumerate(self.rows_of)}  # the labels of `style_writer`

    def batch(self, rows: np.ndarray, rng: np.random.Generator, no_style_fraction: float = 0.0) -> dict:
        """`style_tokens` (B, R, C) int64 and `style_mask` (B, R) bool for the rows of a batch: for each, the
        first steps of another row of its writer (itself when it is the writer's only row); `style_writer`
        (B,) int64 the writer's index (-1: the row was shown no reference)."""
        references, writers = [], []
        for row in rows:
            if rng.random() < no_style_fraction:
                references.append(None)
                writers.append(-1)
                continue
            writers.append(self.writer_index[self.data.writers[row]])
            same = self.rows_of[self.data.writers[row]]
            others = same[same != row]
            pick = int(rng.choice(others)) if len(others) else int(row)
            steps = self.data.tokens[pick][:-1]  # without the end step
            longest = min(self.style_steps, len(steps))
            n = int(rng.integers(min(MIN_REFERENCE_STEPS, longest), longest + 1))
            references.append(steps[:n])
        batch = reference_batch(references, self.data.tokens[0].shape[1])
        batch["style_writer"] = torch.tensor(writers, dtype=torch.int64)
        return batch


def reference_batch(references: list[np.ndarray | None], n_channels: int) -> dict[str, torch.Tensor]:
    """Reference step tokens, one (R_i, C) array per row or None for no reference, padded into a batch."""
    width = max([len(r) for r in references if r is not None] + [0])
    tokens = np.zeros((len(references), width, n_channels), dtype=np.int64)
    mask = np.zeros((len(references), width), dtype=bool)
    for i, reference in enumerate(references):
        if reference is not None:
            tokens[i, : len(reference)] = reference
            mask[i, : len(reference)] = True
    return {"style_tokens": torch.from_numpy(tokens), "style_mask": torch.from_numpy(mask)}
