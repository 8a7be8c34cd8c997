"""Checkpoints: model weights + config + both tokenizers (+ what the trainer needs to resume) in one file.

The file is a plain `torch.save` dict of tensors and plain containers (configs and tokenizers as JSON
strings), so it loads with `torch.load(weights_only=True)`: nothing arbitrary is unpickled. Writes go to a
temporary file in the same directory that is then renamed over the target, so a crash never leaves a
half-written checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from trajtok.config import from_dict
from trajtok.errors import CheckpointError, ConfigError
from trajtok.model import StrokeTransformer
from trajtok.model_config import ModelConfig
from trajtok.text import CharTokenizer
from trajtok.tokenizer_choice import AnyTokenizer, tokenizer_from_dict

FORMAT = "trajtok-checkpoint"
# trajtok.recognizer_checkpoint's marker: known here so a recognizer given as a writer is named as such
RECOGNIZER_FORMAT = "trajtok-recognizer"
VERSION = 3  # 2: GELU with the tanh approximation; 3: named MLP and head layers (fc, proj, norm)
SHIPPED_DIR = Path(__file__).parent / "assets" / "handwriting"
SHIPPED_FILE = "model.pt"
# Where a run directory keeps its checkpoints, in order of preference.
RUN_DIR_CANDIDATES = ("checkpoints/best.pt", "checkpoints/latest.pt", "best.pt", "latest.pt", SHIPPED_FILE)


@dataclass
class Checkpoint:
    model: StrokeTransformer  # on `map_location`, in eval mode
    tokenizer: AnyTokenizer
    text_tokenizer: CharTokenizer
    model_config: ModelConfig
    extra: dict[str, Any]  # trainer's state (step, optimizer, ...) and facts like max_steps_per_char
    path: Path

    @property
    def data_config(self) -> dict[str, Any]:
        """The data settings of the run that trained it (train_config.data), {} where none are recorded."""
        return self.extra.get("train_config", {}).get("data", {})


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    tokenizer: AnyTokenizer,
    text_tokenizer: CharTokenizer,
    model_config: ModelConfig,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically. `extra` may hold tensors, numbers, strings, None and lists/tuples/dicts.

    `model` may be wrapped (DDP `.module`, `torch.compile` `._orig_mod`); the bare model's weights are saved.
    """
    path = Path(path)
    model = _unwrap(model)
    extra = dict(extra or {})
    check_plain(extra, "extra")
    _check_fit(tokenizer, text_tokenizer, model.vocab_sizes, model.text_vocab_size, where=str(path))
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "model_config": dataclasses.asdict(model_config),
        "text_vocab_size": model.text_vocab_size,
        "vocab_sizes": list(model.vocab_sizes),
        "tokenizer": json.dumps(tokenizer.to_dict()),
        "text_tokenizer": json.dumps(text_tokenizer.to_dict()),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": extra,
    }
    return save_atomically(payload, path)


def save_atomically(payload: dict[str, Any], path: str | Path) -> Path:
    """`torch.save` to a temporary file beside `path`, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a checkpoint is an ordinary, shareable file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def resolve_checkpoint_path(
    path: str | Path | None, shipped: Path = SHIPPED_DIR / SHIPPED_FILE, task: str = "handwriting"
) -> Path:
    """A .pt file, a run directory (checkpoints/best.pt, else latest.pt) or None (the shipped model)."""
    if path is None:
        if not shipped.is_file():
            raise CheckpointError(
                f"the shipped model {shipped} is missing; train one with `trajtok train {task}` "
                "and pass --checkpoint RUN_DIR"
            )
        return shipped
    path = Path(path)
    if path.is_dir():
        for name in RUN_DIR_CANDIDATES:
            if (path / name).is_file():
                return path / name
        raise CheckpointError(
            f"{path}: no checkpoint in this directory (looked for {', '.join(RUN_DIR_CANDIDATES)})"
        )
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found; give a .pt file or a run directory")
    return path


def load_checkpoint(path: str | Path | None = None, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Load and check a checkpoint; every way it can be wrong is a one-line CheckpointError."""
    file = resolve_checkpoint_path(path)
    payload = read_payload(file)
    if isinstance(payload, dict) and payload.get("format") == RECOGNIZER_FORMAT:
        raise CheckpointError(
            f"{file}: a recognizer checkpoint (strokes -> text), not a handwriting model; use it with "
            "`trajtok recognize --checkpoint`, and give a `trajtok train handwriting` run here"
        )
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{file}: not a trajtok checkpoint (no '{FORMAT}' marker)")
    check_version(payload, VERSION, file, "checkpoint format")
    try:
        config = from_dict(ModelConfig, payload["model_config"], where=f"{file}: model_config")
        tokenizer = tokenizer_from_dict(json.loads(payload["tokenizer"]))
        text_tokenizer = CharTokenizer.from_dict(json.loads(payload["text_tokenizer"]))
        vocab_sizes, text_vocab_size = tuple(payload["vocab_sizes"]), int(payload["text_vocab_size"])
    except (KeyError, ConfigError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{file}: damaged checkpoint ({exc.__class__.__name__}: {exc})") from None
    _check_fit(tokenizer, text_tokenizer, vocab_sizes, text_vocab_size, where=str(file))
    model = StrokeTransformer(config, text_vocab_size, vocab_sizes)
    load_weights(model, payload["model"], file)
    model.to(map_location).eval()
    return Checkpoint(model, tokenizer, text_tokenizer, config, dict(payload.get("extra") or {}), file)


def read_payload(file: Path) -> Any:
    """`torch.load(weights_only=True)` onto the CPU; a file it cannot read is a one-line CheckpointError.
    The model moves to its device after, so a device torch cannot use is not taken for a damaged file."""
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated / foreign / unsafe files
        raise CheckpointError(
            f"{file}: not a readable checkpoint ({exc.__class__.__name__}: not a torch file, or one cut "
            "short); give a run folder or the .pt file trajtok train wrote"
        ) from None


def check_version(payload: dict, version: int, file: Path, what: str) -> None:
    """A payload written in another format version is a one-line CheckpointError (never silently adapted)."""
    if payload.get("version") != version:
        raise CheckpointError(
            f"{file}: {what} version {payload.get('version')!r}, this trajtok reads {version}; "
            "retrain or use the trajtok version that wrote it"
        )


def load_weights(model: nn.Module, weights: dict[str, torch.Tensor], file: Path) -> None:
    """load_state_dict; weights of another shape are a CheckpointError naming the first misfit."""
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0]
        raise CheckpointError(f"{file}: weights do not fit the stored model config ({detail})") from None


def _check_fit(
    tokenizer: AnyTokenizer,
    text_tokenizer: CharTokenizer,
    vocab_sizes: tuple[int, ...],
    text_vocab_size: int,
    where: str,
) -> None:
    if tuple(tokenizer.vocab_sizes) != tuple(vocab_sizes):
        raise CheckpointError(
            f"{where}: trajectory tokenizer vocab sizes {tuple(tokenizer.vocab_sizes)} do not fit the model "
            f"heads {tuple(vocab_sizes)}; use the tokenizer the model was trained with"
        )
    if text_tokenizer.vocab_size != text_vocab_size:
        raise CheckpointError(
            f"{where}: text tokenizer has {text_tokenizer.vocab_size} symbols, the model's embedding "
            f"{text_vocab_size}; use the text tokenizer the model was trained with"
        )


def check_plain(value: Any, where: str) -> None:
    """Refuse anything `torch.load(weights_only=True)` would not read back (numpy arrays, objects)."""
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_plain(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise ValueError(f"{where}: key {key!r} is a {type(key).__name__}; use str or int keys")
            check_plain(item, f"{where}[{key!r}]")
        return
    raise ValueError(
        f"{where} is a {type(value).__name__}; a checkpoint holds only tensors, numbers, strings, None and "
        "lists/dicts of them (convert numpy arrays with torch.from_numpy)"
    )


def _unwrap(model: nn.Module) -> StrokeTransformer:
    model = getattr(model, "module", model)  # DistributedDataParallel
    return getattr(model, "_orig_mod", model)  # torch.compile
