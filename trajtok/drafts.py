"""Drafts: write each phrase several times and keep the draft a reader reads best.

    recognizer = Recognizer.from_checkpoint(READER)
    samples = write_drafts(writer, ["quiet river"], Sampling(temperature=0), 6, recognizer)

The first draft is written with the caller's sampling; the others are sampled at DRAFT_TEMPERATURE (or the
caller's temperature, if higher), each with its own seed after the caller's. Each draft is scored by the
reader's log P(phrase | ink), summed over every CTC alignment (Recognizer.text_log_probabilities): how surely
it reads the phrase that was meant, not merely whether its best guess matches. The highest score wins; on a
tie the earlier draft. One draft is plain writing.

A sampled draft is often worse than the greedy one, but the model's mistakes (a letter skipped, one written
twice) differ from draft to draft, so among a few there is usually one without them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from trajtok.generate import Sampling, Writer
from trajtok.recognize import Recognizer
from trajtok.sample import Sample
from trajtok.seeds import seed_after

DRAFT_TEMPERATURE = 0.5  # the sampled drafts' temperature: varied, yet mostly well formed


def draft_samplings(sampling: Sampling, n: int) -> list[Sampling]:
    """The samplings of n drafts: the caller's, then n - 1 sampled ones with seeds following its seed."""
    if n < 1:
        raise ValueError(f"need at least 1 draft, got {n}")
    temperature = max(sampling.temperature, DRAFT_TEMPERATURE)
    seed = sampling.seed
    return [sampling] + [
        replace(sampling, temperature=temperature, seed=None if seed is None else seed_after(seed, k))
        for k in range(1, n)
    ]


def write_drafts(
    writer: Writer,
    texts: Sequence[str],
    sampling: Sampling,
    n: int,
    reader: Recognizer,
    prime: Sample | None = None,
    style: Sample | None = None,
) -> list[Sample]:
    """One Sample per phrase, as `writer.write` gives, each the best-read of n drafts."""
    texts = list(texts)
    drafts = [writer.write(texts, s, prime=prime, style=style) for s in draft_samplings(sampling, n)]
    if n == 1:
        return drafts[0]
    scores = np.stack([reader.text_log_probabilities(d) for d in drafts])  # (n, phrases)
    best = scores.argmax(axis=0)
    return [drafts[k][i] for i, k in enumerate(best)]
