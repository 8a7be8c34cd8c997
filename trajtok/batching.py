"""Samples -> padded tensor batches for teacher forcing, and a resumable, length-bucketed batch order.

The batch order is a pure function of (seed, global batch number): resuming at step s only needs s, and
`torchrun` rank r of W simply takes global batch s * W + r. No sampler state has to be saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from trajtok.sample import Sample
from trajtok.text import CharTokenizer
from trajtok.tokenizer_choice import AnyTokenizer


@dataclass
class EncodedSet:
    """Token arrays of the samples that fit the model; `dropped` counts the others by reason."""

    tokens: list[np.ndarray]  # each (T_i + 1, C) int64, the last step is the end (EOS) step
    char_index: list[np.ndarray]  # each (T_i + 1,) int64 into the text, -1 where unknown (and the end step)
    text_ids: list[np.ndarray]  # each (L_i,) int64
    texts: list[str]
    states: list[np.ndarray] | None = None  # each (S,) float32 when the samples carry a state vector
    writers: list[int] | None = None  # each row's style_id, when every sample declares its writer
    word_index: list[np.ndarray] = field(default_factory=list)  # each (T_i + 1,) int64: the word (by
    # blanks) of the text each step is of, -1 where unknown (and the end step)
    dropped: dict[str, int] = field(default_factory=dict)
    origins: list[int] = field(default_factory=list)  # each row's index in the samples encoded

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(t) for t in self.tokens], dtype=np.int64)

    def subset(self, indices: list[int]) -> EncodedSet:
        return EncodedSet(
            [self.tokens[i] for i in indices],
            [self.char_index[i] for i in indices],
            [self.text_ids[i] for i in indices],
            [self.texts[i] for i in indices],
            None if self.states is None else [self.states[i] for i in indices],
            None if self.writers is None else [self.writers[i] for i in indices],
            [self.word_index[i] for i in indices],
        )


def encode_samples(
    samples: list[Sample],
    tokenizer: AnyTokenizer,
    text_tokenizer: CharTokenizer,
    max_steps: int,
    max_text: int,
) -> EncodedSet:
    """Tokenize every sample (with its end step); drop, and count, those longer than the model allows.

    A model step is one token row: a time step for the per-step schemes, one code token for the chunk
    schemes (whose tokens take the character of the first time step of their chunk)."""
    out = EncodedSet([], [], [], [])
    kept, text_ids, positions = [], [], []
    for position, sample in enumerate(samples):
        ids, _ = text_tokenizer.encode(sample.text)
        if len(ids) > max_text:
            out.dropped["text longer than model.max_text"] = (
                out.dropped.get("text longer than model.max_text", 0) + 1
            )
        else:
            kept.append(sample)
            text_ids.append(ids)
            positions.append(position)
    tokens = tokenizer.encode_batch([s.deltas for s in kept], [s.events for s in kept], add_eos=True)
    states, writers = [], []
    for sample, ids, sample_tokens, position in zip(kept, text_ids, tokens, positions, strict=True):
        if len(sample_tokens) > max_steps:
            out.dropped["longer than model.max_steps"] = out.dropped.get("longer than model.max_steps", 0) + 1
            continue
        step_chars = np.full(len(sample) + 1, -1, dtype=np.int64)  # (T + 1,), the end step has none
        if sample.char_index is not None and len(ids) == len(sample.text):  # normalization kept positions
            step_chars[: len(sample)] = align_blanks(sample.char_index, sample.events[:, 0], sample.text)
        out.tokens.append(np.asarray(sample_tokens, dtype=np.int64))
        out.char_index.append(step_chars[tokenizer.token_steps(sample_tokens)])
        step_words = np.full(len(sample) + 1, -1, dtype=np.int64)
        if sample.word_index is not None:
            step_words[: len(sample)] = sample.word_index
        out.word_index.append(step_words[tokenizer.token_steps(sample_tokens)])
        out.text_ids.append(ids)
        out.texts.append(sample.text)
        out.origins.append(position)
        states.append(sample.state)
        writers.append(sample.style_id)
    if states and states[0] is not None:
        out.states = [np.asarray(s, dtype=np.float32) for s in states]
    if writers and all(w is not None for w in writers):
        out.writers = [int(w) for w in writers]
    return out


def align_blanks(char_index: np.ndarray, pen_lift: np.ndarray, text: str) -> np.ndarray:
    """char_index (T,) with the pen-up travel into a word's first stroke given to the blank before the word.

    Blanks own no ink, so the synthetic data aligns that long jump with the next word's first letter; aligned
    with the blank instead, the attention walks over every character and the jump learns from the blank.
    """
    out = np.array(char_index, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], pen_lift[:-1]]))  # first point of each stroke
    owners = out[starts]
    after_blank = np.array([0 < j <= len(text) and text[j - 1] == " " for j in owners], dtype=bool)
    out[starts[after_blank]] -= 1
    return out


def collate(
    data: EncodedSet, indices: np.ndarray | list[int], no_text: np.ndarray | None = None
) -> dict[str, torch.Tensor]:
    """Pad the chosen samples into one batch.

    Returns text_ids (B, L) int64, text_pad_mask (B, L) bool (True = pad), tokens (B, T, C) int64,
    step_mask (B, T) bool (True = a real step), char_index and word_index (B, T) int64 (-1 = unknown or
    padding), and state (B, S) float32 when the data carries state vectors.
    Rows with `no_text[i]` get a blank text (all padding) and no character alignment.
    """
    indices = list(indices)
    no_text = np.zeros(len(indices), dtype=bool) if no_text is None else no_text
    texts = [
        np.zeros(0, np.int64) if blank else data.text_ids[i]
        for i, blank in zip(indices, no_text, strict=True)
    ]
    n_steps = max(len(data.tokens[i]) for i in indices)
    n_chars = max([len(t) for t in texts] + [1])
    n_channels = data.tokens[indices[0]].shape[1]
    text_ids = np.zeros((len(indices), n_chars), dtype=np.int64)  # pad id 0
    tokens = np.zeros((len(indices), n_steps, n_channels), dtype=np.int64)
    step_mask = np.zeros((len(indices), n_steps), dtype=bool)
    char_index = np.full((len(indices), n_steps), -1, dtype=np.int64)
    word_index = np.full((len(indices), n_steps), -1, dtype=np.int64)
    for row, (i, text) in enumerate(zip(indices, texts, strict=True)):
        t = len(data.tokens[i])
        text_ids[row, : len(text)] = text
        tokens[row, :t] = data.tokens[i]
        step_mask[row, :t] = True
        if not no_text[row]:
            char_index[row, :t] = data.char_index[i]
            if data.word_index:
                word_index[row, :t] = data.word_index[i]
    batch = {
        "text_ids": torch.from_numpy(text_ids),
        "text_pad_mask": torch.from_numpy(text_ids == 0),
        "tokens": torch.from_numpy(tokens),
        "step_mask": torch.from_numpy(step_mask),
        "char_index": torch.from_numpy(char_index),
        "word_index": torch.from_numpy(word_index),
    }
    if data.states is not None:
        batch["state"] = torch.from_numpy(np.stack([data.states[i] for i in indices]))
    return batch


class BatchOrder:
    """Epochs of shuffled, length-bucketed batches; `batch(k)` is global batch k, a pure function of k.

    Each epoch: shuffle, cut into windows of `bucket_batches` batches, sort each window by length (so a batch
    holds similar lengths and little padding), cut into batches, shuffle the batches. The last partial
    batch of an epoch is dropped.
    """

    def __init__(self, lengths: np.ndarray, batch_size: int, seed: int, bucket_batches: int = 32):
        if batch_size < 1 or len(lengths) < batch_size:
            raise ValueError(f"batch_size={batch_size} needs at least that many samples, have {len(lengths)}")
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.bucket_batches = max(1, bucket_batches)
        self.batches_per_epoch = len(lengths) // batch_size
        self._epoch: tuple[int, list[np.ndarray]] | None = None

    def batch(self, k: int) -> np.ndarray:
        epoch, position = divmod(k, self.batches_per_epoch)
        if self._epoch is None or self._epoch[0] != epoch:
            self._epoch = (epoch, self._epoch_batches(epoch))
        return self._epoch[1][position]

    def _epoch_batches(self, epoch: int) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.lengths))[: self.batches_per_epoch * self.batch_size]
        window = self.bucket_batches * self.batch_size
        batches = []
        for start in range(0, len(order), window):
            chunk = order[start : start + window]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        return [batches[i] for i in rng.permutation(len(batches))]
