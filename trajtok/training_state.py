"""What a checkpoint holds for an exact resume: the model, the optimizer, the LR schedule, the step, the best
validation loss, the time trained and the global RNG states; `TrainingState` saves and restores all of it."""

from __future__ import annotations

import math
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trajtok.checkpoint import Checkpoint, save_checkpoint
from trajtok.config import to_dict
from trajtok.errors import CheckpointError
from trajtok.model import StrokeTransformer
from trajtok.text import CharTokenizer
from trajtok.tokenizer_choice import AnyTokenizer
from trajtok.train_config import TrainConfig


def lr_factor(step: int, config: TrainConfig) -> float:
    """Linear warm-up to 1, then cosine decay to min_lr / lr at the last step."""
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    floor = config.min_lr / config.lr
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


class TrainingState:
    """A fresh model (seeded with `config.seed`), AdamW (no decay on biases and norms) and the schedule."""

    def __init__(
        self,
        config: TrainConfig,
        tokenizer: AnyTokenizer,
        text_tokenizer: CharTokenizer,
        facts: dict[str, Any],
        started: float,
    ):
        """`facts`: what every checkpoint records beside the weights (e.g. max_steps_per_char);
        `started`: time.monotonic() when this session began (data preparation counts as training time)."""
        self.config = config
        self.tokenizer = tokenizer
        self.text_tokenizer = text_tokenizer
        self.facts = facts
        self.started = started
        torch.manual_seed(config.seed)
        self.model = StrokeTransformer(config.model, text_tokenizer.vocab_size, tokenizer.vocab_sizes)
        decay = [p for p in self.model.parameters() if p.dim() >= 2]
        no_decay = [p for p in self.model.parameters() if p.dim() < 2]
        groups = [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        self.optimizer = torch.optim.AdamW(
            groups,
            lr=config.lr,
            betas=(0.9, 0.98),
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: lr_factor(s, config))
        self.step = 0
        self.best_val = math.inf
        self.past_seconds = 0.0  # trained in earlier (resumed) sessions

    def seconds(self) -> float:
        return self.past_seconds + time.monotonic() - self.started

    def restore(self, ckpt: Checkpoint) -> None:
        if ckpt.model_config != self.config.model:
            raise CheckpointError(f"{ckpt.path}: its model config differs from the run's config.yaml")
        self.model.load_state_dict(ckpt.model.state_dict())
        self.optimizer.load_state_dict(ckpt.extra["optimizer"])
        self.scheduler.load_state_dict(ckpt.extra["scheduler"])
        self.step, self.best_val = int(ckpt.extra["step"]), float(ckpt.extra["best_val_loss"])
        self.past_seconds = float(ckpt.extra["train_seconds"])
        _set_rng_states(ckpt.extra["rng"])

    def save(self, path: Path, resumable: bool = True) -> None:
        """A checkpoint at `path`; `resumable=False` keeps the weights and facts only (best.pt, snapshots)."""
        extra = {
            "step": self.step,
            "best_val_loss": self.best_val,
            "train_seconds": self.seconds(),
            "train_config": to_dict(self.config),
            **self.facts,
        }
        if resumable:
            extra |= {
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "rng": _rng_states(),
            }
        save_checkpoint(path, self.model, self.tokenizer, self.text_tokenizer, self.config.model, extra)


def _rng_states() -> dict[str, Any]:
    np_state = np.random.get_state()
    states = {
        "python": random.getstate(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].copy()), *np_state[2:]],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict[str, Any]) -> None:
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, *rest = states["numpy"]
    np.random.set_state((name, keys.numpy(), *rest))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
