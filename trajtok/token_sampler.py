"""Choosing each channel's token from the model's logits, one channel of one step at a time.

Greedy at temperature 0. Otherwise: top-k, then top-p (nucleus) on the temperature-scaled probabilities,
then the Gumbel-max draw `argmax(logits / T + G)` with G ~ Gumbel(0, 1), which picks token i with
probability softmax(logits / T)_i. The noise is drawn for up to `NOISE_STEPS` steps at once (`NOISE_VALUES`
values at most): at batch 1 a step is latency-bound, and one draw per chunk costs less than three ops per
channel.

The end step is all-or-nothing, decided by channel 0: once it picks its end id (the last id of every
channel's vocabulary) the step's other channels are set to theirs, and otherwise they may not pick it.

A `grammar` (the chunk tokenizers' ChunkGrammar: `mask()` -> (B, V) allowed ids, `advance(ids)`) restricts
a one-channel stream to the ids that keep it decodable.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from trajtok.sampling import Sampling

NOISE_STEPS = 256
NOISE_VALUES = 1 << 16


class ChannelSampler:
    """`sampler(logits (B, V_c), c, chosen)` -> tokens (B,); `chosen`: the step's tokens of channels < c."""

    def __init__(
        self,
        vocab_sizes: tuple[int, ...],
        batch: int,
        sampling: Sampling,
        generator: torch.Generator | None = None,
        device: str | torch.device = "cpu",
        grammar=None,
    ):
        if grammar is not None and len(vocab_sizes) != 1:
            raise ValueError(f"a grammar constrains one-channel streams, not {len(vocab_sizes)} channels")
        self.grammar = grammar
        self.vocab_sizes = tuple(vocab_sizes)
        self.temperature = sampling.temperature
        self.top_k = sampling.top_k
        self.top_p = sampling.top_p
        self.generator = generator
        self.device = torch.device(device)
        self.end_ids = torch.tensor([v - 1 for v in self.vocab_sizes], device=self.device)  # (C,)
        # additive logit masks (V_c,): channels after the first may not pick their end id on their own
        self.no_end = [torch.zeros(v, device=self.device) for v in self.vocab_sizes]
        for no_end in self.no_end:
            no_end[-1] = float("-inf")
        self._noise_shape = (len(self.vocab_sizes), batch, max(self.vocab_sizes))
        self._noise_steps = max(1, min(NOISE_STEPS, NOISE_VALUES // (math.prod(self._noise_shape) or 1)))
        self._noise = torch.empty(0)
        self._row = self._noise_steps - 1  # the noise row of the current step; channel 0 advances it
        self._ended = torch.zeros(batch, dtype=torch.bool, device=self.device)

    def __call__(self, logits: Tensor, c: int, chosen: list[Tensor]) -> Tensor:
        if logits.dtype != torch.float32:
            logits = logits.float()
        if self.grammar is not None:
            allowed = torch.as_tensor(self.grammar.mask(), device=logits.device)
            logits = logits.masked_fill(~allowed, float("-inf"))
            choice = self._choose(logits, c)
            self.grammar.advance(choice.cpu().numpy())
            return choice
        choice = self._choose(logits, c)
        if c == 1:
            self._ended = chosen[0] == self.end_ids[0]  # (B,) the step is the end step
        if c > 0:
            choice = torch.where(self._ended, self.end_ids[c], choice)
        return choice

    def _choose(self, logits: Tensor, c: int) -> Tensor:
        if self.temperature == 0:
            choice = (logits + self.no_end[c] if c > 0 else logits).argmax(-1)
        else:
            choice = self._sample(logits, c)
        return choice

    def _sample(self, logits: Tensor, c: int) -> Tensor:
        """Gumbel-max: argmax(logits / T + G) = argmax(logits + T G); the noise rows hold T G, with -inf at
        the end ids of channels after the first. Top-k and top-p drop tokens from the logits first."""
        if self.top_k is not None or self.top_p is not None:
            if c > 0:
                logits = logits + self.no_end[c]
            if self.top_k is not None and self.top_k < logits.shape[-1]:
                kth = logits.topk(self.top_k, dim=-1).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            if self.top_p is not None and self.top_p < 1:
                sorted_logits, order = logits.sort(dim=-1, descending=True)
                probs = (sorted_logits / self.temperature).softmax(-1)
                drop_sorted = probs.cumsum(-1) - probs >= self.top_p  # keep the smallest set reaching top_p
                drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)  # to vocabulary order
                logits = logits.masked_fill(drop, float("-inf"))
        return (logits + self._noise_row(c, logits.shape[-1])).argmax(-1)

    def _noise_row(self, c: int, vocab_size: int) -> Tensor:
        """Channel c's noise (B, V_c) for this step (channel 0 moves on to the next step's row)."""
        if c == 0:
            self._row += 1
            if self._row == self._noise_steps:
                self._noise, self._row = self._draw_noise(), 0
        return self._noise[self._row, c, :, :vocab_size]

    def _draw_noise(self) -> Tensor:
        """(steps, C, B, V_max) Gumbel noise times T, -inf at the end ids of channels after the first."""
        shape = (self._noise_steps, *self._noise_shape)
        noise = torch.empty(shape, device=self.device).exponential_(generator=self.generator)
        noise = noise.log_().mul_(-self.temperature)  # T * Gumbel(0, 1)
        for c, vocab_size in enumerate(self.vocab_sizes[1:], start=1):
            noise[:, c, :, vocab_size - 1] = float("-inf")
        return noise
