"""Reading handwriting: `Recognizer.from_checkpoint(...).recognize(samples)` -> one Reading per sample.

    from trajtok.recognize import Recognizer
    recognizer = Recognizer.from_checkpoint()            # the shipped recognizer; or a run dir / .pt
    [r.text for r in recognizer.recognize(samples)]      # Samples from any source (trajtok.data)
    recognizer.recognize(samples, beam=8)                # CTC beam search instead of greedy

Each Reading's confidence is the model's probability of its text given the ink, summed over every CTC
alignment (exp of minus the CTC loss of the text it read): near 1 for clear writing, low where it hesitated.
Samples are read in batches of similar length; a padded batch gives each sample what it gets alone.
An unreadable sample (check_ink) raises UnreadableSample naming its index and the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from trajtok.ctc import BLANK, decode_batch
from trajtok.errors import TrajtokError
from trajtok.ink_features import check_ink
from trajtok.recognizer import InkReader
from trajtok.recognizer_checkpoint import SHIPPED, load_recognizer
from trajtok.sample import Sample
from trajtok.step_reader import StepTokenReader
from trajtok.text import CharTokenizer
from trajtok.text_metrics import cer


@dataclass
class Reading:
    text: str
    confidence: float  # P(text | ink) under the model, in [0, 1]


class UnreadableSample(TrajtokError, ValueError):
    def __init__(self, index: int, reason: str):
        super().__init__(f"sample {index}: {reason}")
        self.index, self.reason = index, reason


class Recognizer:
    def __init__(
        self,
        model: InkReader | StepTokenReader,
        text_tokenizer: CharTokenizer,
        device: str | torch.device = "cpu",
    ):
        if model.n_classes != text_tokenizer.vocab_size:
            raise ValueError(f"the model reads {model.n_classes} classes, the tokenizer has {text_tokenizer}")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.text_tokenizer = text_tokenizer

    @classmethod
    def from_checkpoint(cls, path=None, device: str | torch.device = "cpu") -> Recognizer:
        """A run directory, a .pt file, or None for the shipped recognizer; a recognizer's, or a multitask
        writer's (`trajtok train multitask`)."""
        ckpt = load_recognizer(path, map_location=device)
        return cls(ckpt.model, ckpt.text_tokenizer, device)

    def features(self, sample: Sample, index: int = 0) -> np.ndarray:
        """The rows the model reads of one sample: re-sampled ink (InkReader), or step tokens (a multitask
        writer, trajtok.step_reader); UnreadableSample when there are none."""
        reason = check_ink(sample)
        if reason:
            raise UnreadableSample(index, reason)
        try:
            return self.model.features(sample)
        except ValueError as exc:
            raise UnreadableSample(index, str(exc)) from None

    @torch.no_grad()
    def log_probs(self, features: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows of a batch -> (log-probabilities (B, T, K), frame lengths (B,)) on the CPU."""
        lengths = torch.tensor([len(f) for f in features])
        dtype = torch.from_numpy(features[0][:0]).dtype
        padded = torch.zeros(len(features), int(lengths.max()), features[0].shape[1], dtype=dtype)
        for row, f in enumerate(features):
            padded[row, : len(f)] = torch.from_numpy(f)
        out, frames = self.model(padded.to(self.device), lengths.to(self.device))
        return out.float().cpu(), frames.cpu()

    def recognize(
        self,
        samples: Sequence[Sample],
        beam: int = 1,
        batch_size: int = 64,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Reading]:
        """One Reading per sample, in order; `beam` 1 = greedy, > 1 = CTC beam search of that width.
        `progress(done, total)` after each batch."""
        if beam < 1:
            raise ValueError(f"beam must be >= 1, got {beam}")
        features = [self.features(s, i) for i, s in enumerate(samples)]
        order = np.argsort([len(f) for f in features], kind="stable")
        readings: list[Reading | None] = [None] * len(samples)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size].tolist()
            for i, reading in zip(rows, self._read_batch([features[i] for i in rows], beam), strict=True):
                readings[i] = reading
            if progress is not None:
                progress(start + len(rows), len(order))
        return readings

    def text_log_probabilities(self, samples: Sequence[Sample], batch_size: int = 64) -> np.ndarray:
        """(N,) log P(sample.text | its ink) for each sample, summed over every CTC alignment: how surely
        this reader reads what the sample was meant to say. -inf for an unreadable sample (check_ink)."""
        scores = np.full(len(samples), -np.inf)
        readable = [i for i, s in enumerate(samples) if check_ink(s) is None]
        features = {i: self.features(samples[i], i) for i in readable}
        readable.sort(key=lambda i: len(features[i]))
        for start in range(0, len(readable), batch_size):
            rows = readable[start : start + batch_size]
            log_probs, frames = self.log_probs([features[i] for i in rows])
            labels = [self.text_tokenizer.encode(samples[i].text)[0].tolist() for i in rows]
            scores[rows] = text_log_probability(log_probs, frames, labels).numpy()
        return scores

    def _read_batch(self, features: list[np.ndarray], beam: int) -> list[Reading]:
        log_probs, frames = self.log_probs(features)
        labels = decode_batch(log_probs.numpy(), frames.tolist(), beam)
        confidence = text_probability(log_probs, frames, labels)
        return [
            Reading(self.text_tokenizer.decode(ids), float(p))
            for ids, p in zip(labels, confidence.tolist(), strict=True)
        ]


@lru_cache(maxsize=1)
def shipped_recognizer() -> Recognizer | None:
    """The shipped recognizer on the CPU, loaded once; None when this install has none."""
    return Recognizer.from_checkpoint() if SHIPPED.is_file() else None


def read_back(samples: Sequence[Sample], recognizer: Recognizer) -> tuple[list[str], float]:
    """What `recognizer` reads in written samples, and the CER against their texts; an unreadable sample
    (a phrase that ended at once) reads as ''."""
    readable = [i for i, s in enumerate(samples) if check_ink(s) is None]
    reads = [""] * len(samples)
    for i, reading in zip(readable, recognizer.recognize([samples[i] for i in readable]), strict=True):
        reads[i] = reading.text
    return reads, cer(reads, [s.text for s in samples])


def text_probability(log_probs: torch.Tensor, frames: torch.Tensor, labels: list[list[int]]) -> torch.Tensor:
    """(B,) P(labels_b | ink_b): exp(-CTC loss), summing over every alignment of the labels to the frames."""
    return torch.exp(text_log_probability(log_probs, frames, labels)).clamp(0.0, 1.0)


def text_log_probability(
    log_probs: torch.Tensor, frames: torch.Tensor, labels: list[list[int]]
) -> torch.Tensor:
    """(B,) log P(labels_b | ink_b) = -CTC loss; -inf where the labels cannot fit the frames."""
    targets = torch.tensor([i for ids in labels for i in ids], dtype=torch.long)
    loss = F.ctc_loss(
        log_probs.transpose(0, 1),
        targets,
        frames,
        torch.tensor([len(ids) for ids in labels]),
        blank=BLANK,
        reduction="none",
    )
    return -loss
