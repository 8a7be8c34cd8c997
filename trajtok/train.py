"""The training loop for the stroke transformer: data, losses, schedule, checkpoints, resume, DDP.

`train(config, run_dir)` fills a run directory:

    config.yaml        the resolved TrainConfig
    tokenizer.json     the trajectory tokenizer fitted on the training data
    metrics.jsonl      one JSON object per line: {"kind": "train" | "val", "step": ..., ...}
    checkpoints/       latest.pt (every `checkpoint_every` steps) and best.pt (lowest validation loss)
    samples/           PNGs of the fixed validation phrases written greedily, every `sample_every` steps
    attention/         their cross-attention heatmaps (stroke steps x characters)

Resuming is exact: the batch order and every random draw are pure functions of (seed, step, rank), and the
checkpoint holds the step, the optimizer, the LR schedule and the global RNG states, so
`train(..., resume=True)` after a crash produces the same weights as a run that never stopped. Under
`torchrun` (WORLD_SIZE > 1) every rank trains on its own batches with DistributedDataParallel; rank 0 alone
writes the run directory.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from trajtok.batching import BatchOrder, EncodedSet, collate, encode_samples
from trajtok.checkpoint import load_checkpoint, save_checkpoint
from trajtok.config import from_dict, save_config, to_dict
from trajtok.data import load_source
from trajtok.data.hershey import VALIDATION_PHRASES, iter_samples, style_ids
from trajtok.errors import CheckpointError, ConfigError
from trajtok.generate import Sampling, Writer
from trajtok.losses import attention_alignment_loss, channel_losses
from trajtok.model import ModelConfig, StrokeTransformer
from trajtok.plot import plot_attention, render_ink
from trajtok.sample import SampleSet
from trajtok.strokes import integrate, thin_sample
from trajtok.text import CharTokenizer
from trajtok.tokenizer import TrajectoryTokenizer

# progress(step, total_steps, metrics): called after every step (rank 0 only); metrics may be empty.
Progress = Callable[[int, int, dict[str, float]], None]


@dataclass
class DataConfig:
    source: str = "hershey"  # "hershey" streams the embedded synthetic corpus; else any load_source spec
    n_train: int = 12000  # training samples, generated once and cycled through in epochs
    n_val: int = 96  # validation samples (validation loss, best.pt)
    max_chars: int = 24  # longest text the synthetic corpus writes
    # hershey writers to keep, by name or style_id (hershey.STYLES); [] = all
    styles: list[int | str] = field(default_factory=lambda: ["print", "roman-slanted", "print-wide"])
    spacing: float = 0.4  # thin strokes to about one point per this much ink (x-heights); 0 = keep all


@dataclass
class TokenizerConfig:
    n_bins: int = 24
    scheme: Literal["adaptive", "uniform", "quantile"] = "adaptive"
    error_feedback: bool = True


@dataclass
class LossConfig:
    channel_weights: list[float] = field(
        default_factory=list
    )  # one per channel (dx, dy, pen_lift); empty = 1s
    focal_gamma: float = 2.0  # focal loss exponent on the event channels (0 = cross-entropy)
    attention_weight: float = 0.2  # cross-attention alignment toward the drawn character (0 = off)


@dataclass
class TrainConfig:
    seed: int = 0
    steps: int = 6000
    batch_size: int = 24
    lr: float = 2e-3
    min_lr: float = 1e-4  # the cosine schedule ends here
    warmup_steps: int = 100
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    no_text_fraction: float = 0.05  # share of training samples shown with a blank text
    bucket_batches: int = 32  # batches of similar length are cut from windows of this many batches
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    bf16: bool = True  # bf16 autocast on GPU (ignored on CPU)
    threads: int = 0  # torch CPU threads; 0 = torch's default (one per core)
    log_every: int = 10
    checkpoint_every: int = 500  # validation loss + checkpoints/latest.pt (+ best.pt)
    sample_every: int = 1500  # sample PNGs + attention heatmaps; 0 = only at the end
    snapshot_every: int = 1000  # > 0: also keep weights-only checkpoints/stepNNNNNN.pt (curves over time)
    sample_phrases: list[str] = field(default_factory=lambda: list(VALIDATION_PHRASES[:4]))
    overfit: int = 0  # > 0: train on this many fixed samples, no dropout, no blank texts (debugging)
    model: ModelConfig = field(
        default_factory=lambda: ModelConfig(
            d_model=128, n_heads=4, n_enc_layers=2, n_dec_layers=3, d_ff=512, dropout=0.0, max_steps=512
        )
    )
    data: DataConfig = field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    loss: LossConfig = field(default_factory=LossConfig)


# `trajtok train TASK` starts from TrainConfig's defaults (= configs/handwriting.yaml) plus the task's
# settings, which configs/<task>.yaml spells out with the reasons (a test keeps the two equal). In code, so
# an installed trajtok needs no file from the repository.
TASK_SETTINGS: dict[str, dict] = {
    "handwriting": {},
    "gripper": {
        "threads": 1,
        "steps": 3000,
        "batch_size": 32,
        "lr": 1.0e-3,
        "min_lr": 5.0e-5,
        "no_text_fraction": 0.0,
        "sample_every": 0,
        "sample_phrases": [],
        "model": {"dropout": 0.0, "max_steps": 128, "state_dim": 6},
        "data": {"source": "pickplace", "n_train": 1000, "n_val": 50, "spacing": 0},
        "tokenizer": {"error_feedback": False},
        "loss": {"focal_gamma": 0.0, "attention_weight": 0.0},
    },
}


@dataclass
class RunSummary:
    run_dir: str
    step: int
    train_loss: float  # mean weighted loss of the last logging window
    val_loss: float  # cross-entropy per step, summed over channels (nats)
    best_val_loss: float
    train_seconds: float  # time spent in this and earlier (resumed) sessions, data preparation included
    n_parameters: int
    n_train: int
    dropped: dict[str, int]


def check_config(config: TrainConfig) -> None:
    """Refuse settings that would fail later or silently do nothing, with the key to fix."""
    problems = [
        (config.steps < 1, "steps must be >= 1"),
        (config.batch_size < 1, "batch_size must be >= 1"),
        (config.lr <= 0 or config.min_lr < 0, "lr must be > 0 and min_lr >= 0"),
        (config.warmup_steps < 0, "warmup_steps must be >= 0"),
        (not 0 <= config.no_text_fraction <= 1, "no_text_fraction must be in [0, 1]"),
        (config.checkpoint_every < 1, "checkpoint_every must be >= 1"),
        (config.log_every < 1, "log_every must be >= 1"),
        (config.sample_every < 0, "sample_every must be >= 0"),
        (config.snapshot_every < 0, "snapshot_every must be >= 0"),
        (config.overfit < 0, "overfit must be >= 0"),
        (config.threads < 0, "threads must be >= 0"),
        (config.data.n_train < 1 or config.data.n_val < 1, "data.n_train and data.n_val must be >= 1"),
        (config.loss.focal_gamma < 0, "loss.focal_gamma must be >= 0"),
        (config.loss.attention_weight < 0, "loss.attention_weight must be >= 0"),
        (
            config.model.d_model % config.model.n_heads != 0,
            "model.d_model must be a multiple of model.n_heads",
        ),
    ]
    for bad, message in problems:
        if bad:
            raise ConfigError(f"config: {message}")


# ---------------------------------------------------------------------------------------------------------
# Data


@dataclass
class TrainingData:
    train: EncodedSet
    val: EncodedSet
    tokenizer: TrajectoryTokenizer
    text_tokenizer: CharTokenizer
    max_steps_per_char: float  # generation budget the checkpoint records for Writer


def load_samples(data: DataConfig, split: str, n: int, seed: int) -> SampleSet:
    """n samples of `split`, thinned: the synthetic stream filtered by writer, or any load_source spec."""
    if data.source == "hershey":
        try:
            styles = set(style_ids(data.styles))
        except ValueError as exc:
            raise ConfigError(f"data.styles: {exc}") from None
        stream = iter_samples(split, seed=seed, max_chars=data.max_chars)
        if styles:
            stream = (s for s in stream if s.style_id in styles)
        loaded = SampleSet(list(islice(stream, n)), source=f"hershey:{split}")
    else:
        loaded = load_source(data.source, split=split, n=n, seed=seed)
    if not loaded.samples:
        raise ConfigError(f"data: source {data.source!r} gave no {split} samples")
    loaded.samples = [thin_sample(s, data.spacing) for s in loaded.samples]
    return loaded


def prepare_data(config: TrainConfig, tokenizer: TrajectoryTokenizer | None = None) -> TrainingData:
    """Training and validation sets, tokenized; the tokenizer is fitted on the training deltas if None."""
    n_train = config.overfit or config.data.n_train
    train_set = load_samples(config.data, "train", n_train, config.seed)
    train_samples = train_set.samples
    val_samples = load_samples(config.data, "val", config.data.n_val, config.seed).samples
    if tokenizer is None:
        t = config.tokenizer
        tokenizer = TrajectoryTokenizer(
            train_set.dim_names, train_set.event_names, t.n_bins, t.scheme, error_feedback=t.error_feedback
        ).fit([s.deltas for s in train_samples])
    state_size = 0 if train_samples[0].state is None else len(train_samples[0].state)
    if state_size != config.model.state_dim:
        raise ConfigError(
            f"data: {config.data.source} carries a state vector of size {state_size} but "
            f"model.state_dim={config.model.state_dim}; set model.state_dim={state_size}"
        )
    text_tokenizer = CharTokenizer()
    m = config.model
    train = encode_samples(train_samples, tokenizer, text_tokenizer, m.max_steps, m.max_text)
    val = encode_samples(val_samples, tokenizer, text_tokenizer, m.max_steps, m.max_text)
    weights = config.loss.channel_weights
    if weights and len(weights) != tokenizer.n_channels:
        raise ConfigError(
            f"config: loss.channel_weights has {len(weights)} values; give one per channel "
            f"({', '.join(tokenizer.channel_names)}) or none"
        )
    if len(train) < min(config.batch_size, n_train) or len(val) == 0:
        raise ConfigError(
            f"data: only {len(train)} training / {len(val)} validation samples fit the model "
            f"(dropped {train.dropped}); raise model.max_steps or data.spacing"
        )
    per_char = [len(s) / max(1, len(s.text)) for s in train_samples if s.text]
    return TrainingData(train, val, tokenizer, text_tokenizer, 1.5 * float(np.percentile(per_char, 99)))


# ---------------------------------------------------------------------------------------------------------
# Losses, schedule, devices


def compute_losses(
    model: torch.nn.Module,
    batch: dict[str, torch.Tensor],
    loss_config: LossConfig,
    tokenizer: TrajectoryTokenizer,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Weighted training loss and its parts: loss_<channel> (dx, dy, pen_lift), loss_attention."""
    need_attention = loss_config.attention_weight > 0
    out = model(
        batch["text_ids"],
        batch["text_pad_mask"],
        batch["tokens"],
        batch.get("state"),
        need_attention=need_attention,
    )
    focal = set(range(tokenizer.n_dims, tokenizer.n_channels))  # event channels are rare: focal loss
    per_channel = channel_losses(
        out.logits, batch["tokens"], batch["step_mask"], focal, loss_config.focal_gamma
    )
    weights = loss_config.channel_weights or [1.0] * tokenizer.n_channels
    loss = sum(w * part for w, part in zip(weights, per_channel, strict=True))
    parts = {f"loss_{name}": part for name, part in zip(tokenizer.channel_names, per_channel, strict=True)}
    if need_attention:
        align = attention_alignment_loss(out.attention, batch["char_index"])
        loss = loss + loss_config.attention_weight * align
        parts["loss_attention"] = align
    return loss, parts


def lr_factor(step: int, config: TrainConfig) -> float:
    """Linear warm-up to 1, then cosine decay to min_lr / lr at the last step."""
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    floor = config.min_lr / config.lr
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def select_device(name: str) -> torch.device:
    """`auto`: the CUDA GPU, else Apple's MPS, else the CPU; a named device that is not there is an error."""
    mps = getattr(torch.backends, "mps", None)
    available = {
        "cuda": torch.cuda.is_available(),
        "mps": mps is not None and mps.is_available(),
        "cpu": True,
    }
    if name == "auto":
        return torch.device(next(kind for kind, present in available.items() if present))
    if not available.get(name, False):
        raise ConfigError(
            f"config: device={name} but this machine has no {name.upper()} device; use device=auto"
        )
    return torch.device(name)


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_name: str) -> Distributed:
    """Join the process group `torchrun` describes in the environment (nccl on GPU, gloo on CPU)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Distributed()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        use_nccl = device_name in ("auto", "cuda") and torch.cuda.is_available()
        dist.init_process_group("nccl" if use_nccl else "gloo")
    return Distributed(rank, world_size, local_rank)


# ---------------------------------------------------------------------------------------------------------
# Run directory


def read_config(run_dir: str | Path) -> TrainConfig:
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"{path}: not found; --resume needs a run directory made by `trajtok train`")
    import yaml

    return from_dict(TrainConfig, yaml.safe_load(path.read_text()) or {}, where=str(path))


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


def _step_seed(seed: int, step: int, rank: int) -> int:
    return int(np.random.default_rng([seed, step, rank, 7]).integers(2**62))


def _append_jsonl(path: Path, record: dict[str, Any]) -> None:
    with path.open("a") as f:
        f.write(json.dumps(record) + "\n")


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop metrics of steps after `step` (a killed run's last steps, which the resumed run redoes) and any
    line the kill tore."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # a line torn by the kill
            continue
        if record.get("step", 0) <= step:
            kept.append(line)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(line + "\n" for line in kept))
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------------------
# The loop


def train(
    config: TrainConfig, run_dir: str | Path, resume: bool = False, progress: Progress | None = None
) -> RunSummary:
    """Train (or with `resume`, continue training) into `run_dir`; returns the run's summary."""
    check_config(config)
    started = time.monotonic()
    run_dir = Path(run_dir)
    latest = run_dir / "checkpoints" / "latest.pt"
    if resume and not latest.is_file():
        raise CheckpointError(f"{latest}: no checkpoint to resume from")
    if not resume and latest.is_file():
        raise ConfigError(
            f"{run_dir} already holds a run; resume it with --resume or choose another --run-dir"
        )
    if config.overfit:
        config.no_text_fraction = 0.0
        config.model.dropout = 0.0

    if config.threads:
        torch.set_num_threads(config.threads)
    ddp = init_distributed(config.device)
    device = select_device(config.device)
    if device.type == "cuda":
        device = torch.device("cuda", ddp.local_rank)
        torch.cuda.set_device(device)
    autocast = torch.autocast(
        device.type, dtype=torch.bfloat16, enabled=config.bf16 and device.type == "cuda"
    )

    ckpt = load_checkpoint(latest) if resume else None
    data = prepare_data(config, tokenizer=ckpt.tokenizer if ckpt else None)
    if ddp.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_config(config, run_dir / "config.yaml")
        data.tokenizer.save(run_dir / "tokenizer.json")

    torch.manual_seed(config.seed)
    model = StrokeTransformer(config.model, data.text_tokenizer.vocab_size, data.tokenizer.vocab_sizes)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr,
        betas=(0.9, 0.98),
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, config))
    step, best_val, past_seconds = 0, math.inf, 0.0
    if ckpt is not None:
        if ckpt.model_config != config.model:
            raise CheckpointError(f"{latest}: its model config differs from {run_dir}/config.yaml")
        model.load_state_dict(ckpt.model.state_dict())
        optimizer.load_state_dict(ckpt.extra["optimizer"])
        scheduler.load_state_dict(ckpt.extra["scheduler"])
        step, best_val = int(ckpt.extra["step"]), float(ckpt.extra["best_val_loss"])
        past_seconds = float(ckpt.extra["train_seconds"])
        _set_rng_states(ckpt.extra["rng"])
        if ddp.is_main:
            for torn in latest.parent.glob(".*.tmp"):  # a checkpoint write the kill interrupted
                torn.unlink()
            _truncate_metrics(run_dir / "metrics.jsonl", step)
            _append_jsonl(
                run_dir / "metrics.jsonl", {"kind": "resume", "step": step, "seconds": past_seconds}
            )
    model.to(device)
    net = (
        DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        if (ddp.enabled)
        else model
    )

    order = BatchOrder(
        data.train.lengths, min(config.batch_size, len(data.train)), config.seed, config.bucket_batches
    )
    metrics_path = run_dir / "metrics.jsonl"
    train_loss = val_loss = math.nan  # of the last logging window / validation
    window: list[float] = []
    window_start = time.monotonic()

    def seconds() -> float:
        return past_seconds + time.monotonic() - started

    def checkpoint(name: str, resumable: bool = True) -> None:
        extra = {
            "step": step,
            "best_val_loss": best_val,
            "train_seconds": seconds(),
            "train_config": to_dict(config),
            "max_steps_per_char": data.max_steps_per_char,
        }
        if resumable:
            extra |= {
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": _rng_states(),
            }
        save_checkpoint(
            run_dir / "checkpoints" / name, model, data.tokenizer, data.text_tokenizer, config.model, extra
        )

    if progress and ddp.is_main:
        progress(step, config.steps, {})
    model.train()
    while step < config.steps:
        torch.manual_seed(_step_seed(config.seed, step, ddp.rank))  # dropout: a function of the step
        k = step * ddp.world_size + ddp.rank  # this rank's global batch number
        batch = {key: value.to(device) for key, value in training_batch(k, data.train, order, config).items()}
        with autocast:
            loss, parts = compute_losses(net, batch, config.loss, data.tokenizer)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        scheduler.step()
        step += 1
        window.append(loss.item())

        if ddp.is_main and (step % config.log_every == 0 or step == config.steps):
            now = time.monotonic()
            train_loss = float(np.mean(window))
            record = {
                "kind": "train",
                "step": step,
                "loss": train_loss,
                **{key: value.item() for key, value in parts.items()},
                "lr": scheduler.get_last_lr()[0],
                "grad_norm": float(grad_norm),
                "steps_per_s": len(window) / max(now - window_start, 1e-9),
                "seconds": seconds(),
            }
            _append_jsonl(metrics_path, record)
            window, window_start = [], now
        if step % config.checkpoint_every == 0 or step == config.steps:
            val_loss, val_parts = evaluate(model, data.val, data.tokenizer, device, autocast)
            is_best = val_loss < best_val
            best_val = min(best_val, val_loss)
            if ddp.is_main:
                _append_jsonl(
                    metrics_path,
                    {"kind": "val", "step": step, "val_loss": val_loss, **val_parts, "seconds": seconds()},
                )
                checkpoint("latest.pt")
                if is_best:
                    checkpoint("best.pt", resumable=False)
        if ddp.is_main and config.snapshot_every and step % config.snapshot_every == 0:
            checkpoint(f"step{step:06d}.pt", resumable=False)
        if ddp.is_main and (
            (config.sample_every and step % config.sample_every == 0) or step == config.steps
        ):
            write_samples(model, data, config, device, run_dir, step)
            model.train()
        if progress and ddp.is_main:
            progress(step, config.steps, {"loss": loss.item(), "val_loss": val_loss})

    if math.isnan(val_loss):  # resumed a finished run: nothing trained, still report where it stands
        val_loss, _ = evaluate(model, data.val, data.tokenizer, device, autocast)
    if ddp.enabled:  # DDP keeps replicas in step; check it, and leave the digests in the metrics
        digests: list[str | None] = [None] * ddp.world_size
        dist.all_gather_object(digests, weights_digest(model))
        if ddp.is_main:
            _append_jsonl(
                metrics_path,
                {"kind": "ddp", "step": step, "world_size": ddp.world_size, "weight_digests": digests},
            )
        dist.barrier()
    return RunSummary(
        run_dir=str(run_dir),
        step=step,
        train_loss=train_loss,
        val_loss=val_loss,
        best_val_loss=best_val,
        train_seconds=seconds(),
        n_parameters=model.num_parameters(),
        n_train=len(data.train),
        dropped=data.train.dropped,
    )


def training_batch(
    k: int, data: EncodedSet, order: BatchOrder, config: TrainConfig
) -> dict[str, torch.Tensor]:
    """Global batch k: its samples (every sample when overfitting), a `no_text_fraction` of them textless."""
    if config.overfit:
        return collate(data, range(len(data)))
    indices = order.batch(k)
    return collate(data, indices, blank_rows(config.seed, k, len(indices), config.no_text_fraction))


def blank_rows(seed: int, k: int, n: int, fraction: float) -> np.ndarray:
    """(n,) bool: which rows of global batch k are shown without their text; a function of (seed, k)."""
    return np.random.default_rng([seed, k, 1]).random(n) < fraction


def weights_digest(model: torch.nn.Module) -> str:
    """SHA-256 of every parameter's bytes: equal digests mean bit-identical weights."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


@torch.no_grad()
def evaluate(
    model: StrokeTransformer,
    data: EncodedSet,
    tokenizer: TrajectoryTokenizer,
    device: torch.device,
    autocast: torch.autocast,
    batch_size: int = 32,
) -> tuple[float, dict[str, float]]:
    """Validation loss: cross-entropy per step summed over channels (nats; no focal, no weights) + parts."""
    was_training = model.training
    model.eval()
    plain = LossConfig(focal_gamma=0.0, attention_weight=0.0)
    totals: dict[str, float] = {}
    n_steps = 0
    for start in range(0, len(data), batch_size):
        rows = range(start, min(start + batch_size, len(data)))
        batch = {k: v.to(device) for k, v in collate(data, rows).items()}
        steps = int(batch["step_mask"].sum())
        with autocast:
            _, parts = compute_losses(model, batch, plain, tokenizer)
        for key, value in parts.items():
            totals[f"val_{key}"] = totals.get(f"val_{key}", 0.0) + float(value) * steps
        n_steps += steps
    model.train(was_training)
    parts = {key: value / n_steps for key, value in totals.items()}
    return sum(parts.values()), parts


def write_samples(
    model: StrokeTransformer,
    data: TrainingData,
    config: TrainConfig,
    device: torch.device,
    run_dir: Path,
    step: int,
) -> None:
    """Greedy handwriting of the fixed validation phrases (PNG each) and their cross-attention heatmaps."""
    if not config.sample_phrases:
        return
    writer = Writer(model, data.tokenizer, data.text_tokenizer, device, data.max_steps_per_char)
    written = writer.write(config.sample_phrases, Sampling(temperature=0.0))
    for i, sample in enumerate(written):
        render_ink(
            integrate(sample.deltas, sample.events[:, 0]), run_dir / "samples" / f"step{step:06d}_{i}.png"
        )
    attentions = [writer.attention(s) for s in written if len(s)]
    texts = [s.text for s in written if len(s)]
    if attentions:
        plot_attention(attentions, texts, run_dir / "attention" / f"step{step:06d}.png")
