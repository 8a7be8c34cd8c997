"""Recognizer checkpoints: weights, RecognizerConfig, the text tokenizer (+ trainer state) in one file.

The same conventions as the writer's checkpoints (trajtok.checkpoint): a plain dict that loads with
`torch.load(weights_only=True)`, written atomically, a format marker so that a writer checkpoint given to the
recognizer (or the other way round) is refused with a line saying which is which. A writer trained to read
as well (`trajtok train multitask`) is a recognizer too, through trajtok.step_reader.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from trajtok.checkpoint import (
    FORMAT,
    RECOGNIZER_FORMAT,
    check_plain,
    check_version,
    load_checkpoint,
    load_weights,
    read_payload,
    resolve_checkpoint_path,
    save_atomically,
)
from trajtok.config import from_dict
from trajtok.errors import CheckpointError, ConfigError
from trajtok.model_config import ModelConfig
from trajtok.recognizer import InkReader, RecognizerConfig
from trajtok.step_reader import StepTokenReader
from trajtok.text import CharTokenizer

VERSION = 1
SHIPPED = Path(__file__).parent / "assets" / "recognizer" / "model.pt"


@dataclass
class RecognizerCheckpoint:
    model: InkReader | StepTokenReader  # on `map_location`, in eval mode
    text_tokenizer: CharTokenizer
    config: RecognizerConfig | ModelConfig
    extra: dict[str, Any]  # trainer's state (step, optimizer, ...) and its config
    path: Path


def save_recognizer(
    path: str | Path,
    model: nn.Module,
    text_tokenizer: CharTokenizer,
    extra: dict[str, Any] | None = None,
) -> Path:
    extra = dict(extra or {})
    check_plain(extra, "extra")
    if model.n_classes != text_tokenizer.vocab_size:
        raise ValueError(f"the model reads {model.n_classes} classes, the tokenizer has {text_tokenizer}")
    payload = {
        "format": RECOGNIZER_FORMAT,
        "version": VERSION,
        "config": dataclasses.asdict(model.config),
        "n_classes": model.n_classes,
        "text_tokenizer": json.dumps(text_tokenizer.to_dict()),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": extra,
    }
    return save_atomically(payload, path)


def load_recognizer(path: str | Path | None = None, map_location: str | torch.device = "cpu"):
    """A .pt file, a run directory or None (the shipped recognizer) -> RecognizerCheckpoint."""
    file = resolve_checkpoint_path(path, shipped=SHIPPED, task="recognizer")
    payload = read_payload(file)
    kind = payload.get("format") if isinstance(payload, dict) else None
    if kind == FORMAT:
        return multitask_reader(file, map_location)
    if kind != RECOGNIZER_FORMAT:
        raise CheckpointError(
            f"{file}: not a trajtok recognizer checkpoint (no '{RECOGNIZER_FORMAT}' marker)"
        )
    check_version(payload, VERSION, file, "recognizer format")
    try:
        config = from_dict(RecognizerConfig, payload["config"], where=f"{file}: config")
        text_tokenizer = CharTokenizer.from_dict(json.loads(payload["text_tokenizer"]))
        n_classes = int(payload["n_classes"])
    except (KeyError, ConfigError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{file}: damaged checkpoint ({exc.__class__.__name__}: {exc})") from None
    if n_classes != text_tokenizer.vocab_size:
        raise CheckpointError(
            f"{file}: {n_classes} output classes but the text tokenizer has {text_tokenizer}"
        )
    model = InkReader(config, n_classes)
    load_weights(model, payload["model"], file)
    model.to(map_location).eval()
    return RecognizerCheckpoint(model, text_tokenizer, config, dict(payload.get("extra") or {}), file)


def multitask_reader(file: Path, map_location: str | torch.device) -> RecognizerCheckpoint:
    """A writer's checkpoint as a recognizer: only a multitask one (model.reads) can read."""
    ckpt = load_checkpoint(file, map_location)
    if not ckpt.model_config.reads:
        raise CheckpointError(
            f"{file}: a handwriting model (text -> strokes) that does not read; give a `trajtok train "
            "recognizer` or `trajtok train multitask` run, or no --checkpoint for the shipped recognizer"
        )
    reader = StepTokenReader(ckpt.model, ckpt.tokenizer, float(ckpt.data_config.get("spacing", 0.0))).eval()
    return RecognizerCheckpoint(reader, ckpt.text_tokenizer, ckpt.model_config, ckpt.extra, file)
