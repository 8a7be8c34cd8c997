"""A writer that also reads (model.reads, `trajtok train multitask`) in the Recognizer's place.

The Recognizer (trajtok.recognize) batches any reader that turns a sample into rows (`features`) and padded
rows into CTC log-probabilities (`forward`). For the multitask model the rows are the writer's own step
tokens: the sample is thinned as its training data was and tokenized by the tokenizer it was trained with,
so it reads exactly what it learned to write. Ink already that sparse (what a writer wrote: one point per
step) is read as it is, because thinning it again would drop points the writer meant.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from trajtok.model import StrokeTransformer
from trajtok.sample import Sample
from trajtok.strokes import thin_once
from trajtok.tokenizer_choice import AnyTokenizer


class StepTokenReader(nn.Module):
    def __init__(self, model: StrokeTransformer, tokenizer: AnyTokenizer, spacing: float):
        super().__init__()
        if not model.config.reads:
            raise ValueError("this model was trained to write only (model.reads=False); it cannot read")
        self.model = model
        self.tokenizer = tokenizer
        self.spacing = spacing

    @property
    def n_classes(self) -> int:
        return self.model.text_vocab_size

    def num_parameters(self) -> int:
        return self.model.num_parameters()

    def features(self, sample: Sample) -> np.ndarray:
        """(T + 1, C) int64 step tokens of the thinned sample (its end step included); ValueError when they
        are more than the model's positions."""
        thinned = thin_once(sample, self.spacing)
        tokens = self.tokenizer.encode_batch([thinned.deltas], [thinned.events], add_eos=True)[0]
        limit = self.model.config.max_steps
        if len(tokens) > limit:
            raise ValueError(
                f"{len(tokens)} steps after thinning, more than the model's max_steps={limit}; split it into "
                "shorter lines"
            )
        return np.asarray(tokens, dtype=np.int64)

    def forward(self, tokens: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """tokens (B, T, C) padded, lengths (B,) -> (log-probabilities (B, F, K), frame lengths (B,))."""
        step_mask = torch.arange(tokens.shape[1], device=tokens.device)[None, :] < lengths[:, None]
        return self.model.read(tokens, step_mask)
