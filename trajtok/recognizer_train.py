"""Training the recognizer (`trajtok train recognizer`): CTC on re-sampled ink, into a run directory.

`train_recognizer(config, run_dir)` fills:

    config.yaml        the resolved RecognizerTrainConfig
    metrics.jsonl      {"kind": "train" | "val" | "resume", "step": ..., ...} per line
    curves.png         the CTC loss, learning rate and validation CER so far, redrawn at every validation
    checkpoints/       latest.pt (every `checkpoint_every` steps, resumable), best.pt (lowest validation CER)

Resuming is exact: the batch order, the augmentation of each batch and the dropout masks are functions of
(seed, step), and latest.pt holds the step, the optimizer and the LR schedule, so a resumed run ends with
the same weights as one that never stopped. The schedule, the runtime (threads, device), the metrics log and
the run-directory checks are the writer's (training_state, runtime, run_log, train).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from trajtok.augment import affine
from trajtok.batching import BatchOrder
from trajtok.config import save_config, to_dict
from trajtok.ctc import BLANK, decode_batch
from trajtok.data import load_source
from trajtok.errors import CheckpointError, ConfigError
from trajtok.ink_features import check_ink, features_from_points
from trajtok.recognizer import InkReader, RecognizerConfig, frames_after_convs
from trajtok.recognizer_checkpoint import load_recognizer, save_recognizer
from trajtok.run_curves import CURVES_FILE, plot_run_curves
from trajtok.run_log import RunLog
from trajtok.runtime import setup_runtime
from trajtok.sample import Sample
from trajtok.seeds import SEED_RANGE, is_seed
from trajtok.strokes import integrate
from trajtok.text import CharTokenizer
from trajtok.text_metrics import cer
from trajtok.train import LossWindow, _check_run_dir, _step_seed, load_samples
from trajtok.train_config import DataConfig
from trajtok.training_state import lr_factor

Progress = Callable[[int, int, dict[str, float]], None]


@dataclass
class AugmentConfig:
    """Random per-sample geometry of each training batch (0 turns a part off)."""

    scale: float = 0.1  # size x (1 +- scale)
    stretch: float = 0.1  # width x (1 +- stretch)
    slant: float = 0.15  # shear x += U(-slant, slant) * y
    rotation: float = 0.04  # radians, +-


@dataclass
class ReaderDataConfig:
    """What the recognizer reads: its own defaults (a section given in YAML or key=value builds on these)."""

    source: str = "hershey"  # "hershey" streams the embedded synthetic corpus; else any load_source spec
    n_train: int = 20000
    n_val: int = 192
    max_chars: int = 24  # longest text the synthetic corpus writes
    styles: list[int | str] = field(default_factory=list)  # hershey writers (hershey.STYLES); [] = every one

    def __post_init__(self) -> None:
        if self.n_train < 1 or self.n_val < 1:
            raise ConfigError("config: data.n_train and data.n_val must be >= 1")


@dataclass
class RecognizerTrainConfig:
    seed: int = 0
    steps: int = 5000
    batch_size: int = 32
    lr: float = 2e-3
    min_lr: float = 1e-4  # the cosine schedule ends here
    warmup_steps: int = 200
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    bucket_batches: int = 32  # batches of similar length are cut from windows of this many batches
    device: str = "auto"
    threads: int = 1  # torch CPU threads (0 = one per core); one is ~10x faster on a shared machine
    log_every: int = 10
    checkpoint_every: int = 500  # validation CER + checkpoints/latest.pt (+ best.pt)
    overfit: int = 0  # > 0: train on this many fixed samples, no dropout, no augmentation (debugging)
    model: RecognizerConfig = field(default_factory=RecognizerConfig)
    data: ReaderDataConfig = field(default_factory=ReaderDataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self) -> None:
        problems = [
            (not is_seed(self.seed), f"seed must be {SEED_RANGE}"),
            (self.steps < 1, "steps must be >= 1"),
            (self.batch_size < 1, "batch_size must be >= 1"),
            (self.lr <= 0 or self.min_lr < 0, "lr must be > 0 and min_lr >= 0"),
            (self.checkpoint_every < 1 or self.log_every < 1, "checkpoint_every and log_every must be >= 1"),
            (self.overfit < 0 or self.threads < 0, "overfit and threads must be >= 0"),
            (self.model.resample_step <= 0, "model.resample_step must be > 0"),
            (self.model.encoder == "transformer" and (2 * self.model.hidden) % self.model.heads != 0,
             "2 * model.hidden must be a multiple of model.heads"),
        ]  # fmt: skip
        for bad, message in problems:
            if bad:
                raise ConfigError(f"config: {message}")


@dataclass
class RecognizerRunSummary:
    run_dir: str
    step: int
    train_loss: float  # mean CTC loss of the last logging window (nats per sample)
    val_cer: float
    best_val_cer: float
    train_seconds: float  # this and earlier (resumed) sessions, data preparation included
    n_parameters: int
    n_train: int
    dropped: dict[str, int]


# ---------------------------------------------------------------------------------------------------------
# Data


@dataclass
class InkSet:
    """Samples as absolute points with their label ids; features are made per batch (augmented) or once."""

    points: list[np.ndarray]  # each (T, 3) absolute [x, y, pen_lift]
    labels: list[np.ndarray]  # each (L,) int64 CharTokenizer ids (never the blank)
    texts: list[str]
    lengths: np.ndarray  # re-sampled points of each, unaugmented (for length buckets)
    dropped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.points)


def load_split(data: ReaderDataConfig, split: str, n: int, seed: int) -> list[Sample]:
    """`n` samples of `split` as the source has them (never thinned: the recognizer re-samples the ink);
    the whole synthetic stream (every writer) comes through the disk cache."""
    if data.source == "hershey" and not data.styles:
        return load_source("hershey", split=split, n=n, seed=seed, max_chars=data.max_chars).samples
    writer_data = DataConfig(
        source=data.source, n_train=n, n_val=n, max_chars=data.max_chars, styles=data.styles, spacing=0.0
    )
    return load_samples(writer_data, split, n, seed).samples


def make_ink_set(samples: list[Sample], text_tokenizer: CharTokenizer, step: float) -> InkSet:
    """Keep the samples a CTC reader can learn from; count the others by reason."""
    out = InkSet([], [], [], np.zeros(0, np.int64))
    lengths = []
    for sample in samples:
        labels, _ = text_tokenizer.encode(sample.text)
        points = integrate(sample.deltas, sample.events[:, 0])
        n = len(features_from_points(points, step)) if check_ink(sample) is None else 0
        repeats = int((labels[1:] == labels[:-1]).sum())
        reason = (
            "no text"
            if not len(labels)
            else "unreadable ink"
            if n == 0
            else "ink too short for its text"
            if frames_after_convs(n) < len(labels) + repeats
            else None
        )
        if reason:
            out.dropped[reason] = out.dropped.get(reason, 0) + 1
            continue
        out.points.append(points)
        out.labels.append(labels)
        out.texts.append(text_tokenizer.decode(labels))
        lengths.append(n)
    out.lengths = np.array(lengths, dtype=np.int64)
    return out


def augment_points(points: np.ndarray, augment: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """A random size, width, slant and rotation of one sample's absolute points."""
    scale = 1 + rng.uniform(-augment.scale, augment.scale)
    stretch = 1 + rng.uniform(-augment.stretch, augment.stretch)
    slant = rng.uniform(-augment.slant, augment.slant)
    angle = rng.uniform(-augment.rotation, augment.rotation)
    return affine(points, scale, stretch, slant, angle)


def batch_tensors(features: list[np.ndarray], labels: list[np.ndarray]) -> dict[str, torch.Tensor]:
    lengths = torch.tensor([len(f) for f in features])
    padded = torch.zeros(len(features), int(lengths.max()), features[0].shape[1])
    for row, f in enumerate(features):
        padded[row, : len(f)] = torch.from_numpy(f)
    return {
        "features": padded,
        "lengths": lengths,
        "targets": torch.from_numpy(np.concatenate(labels)),
        "target_lengths": torch.tensor([len(t) for t in labels]),
    }


def ctc_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    log_probs, frames = model(batch["features"], batch["lengths"])
    return F.ctc_loss(
        log_probs.transpose(0, 1).float(),
        batch["targets"],
        frames,
        batch["target_lengths"],
        blank=BLANK,
        reduction="mean",
        zero_infinity=True,
    )


@torch.no_grad()
def evaluate(
    model: InkReader, data: InkSet, device: torch.device, batch_size: int = 64
) -> tuple[float, float, list[str]]:
    """(greedy CER, mean CTC loss, the texts read) on `data`, unaugmented."""
    was_training = model.training
    model.eval()
    text_tokenizer = CharTokenizer()
    reads, losses = [], []
    for start in range(0, len(data), batch_size):
        rows = range(start, min(start + batch_size, len(data)))
        feats = [features_from_points(data.points[i], model.config.resample_step) for i in rows]
        batch = {k: v.to(device) for k, v in batch_tensors(feats, [data.labels[i] for i in rows]).items()}
        losses.append(float(ctc_loss(model, batch)) * len(rows))
        log_probs, frames = model(batch["features"], batch["lengths"])
        labels = decode_batch(log_probs.float().cpu().numpy(), frames.tolist())
        reads += [text_tokenizer.decode(ids) for ids in labels]
    model.train(was_training)
    return cer(reads, data.texts), sum(losses) / len(data), reads


# ---------------------------------------------------------------------------------------------------------
# The loop


def train_recognizer(
    config: RecognizerTrainConfig, run_dir: str | Path, resume: bool = False, progress: Progress | None = None
) -> RecognizerRunSummary:
    """Train (or with `resume`, continue) a recognizer into `run_dir`; returns the run's summary."""
    started = time.monotonic()
    if config.overfit:  # a copy: the caller's config stays as it was
        model = dataclasses.replace(config.model, dropout=0.0)
        config = dataclasses.replace(config, model=model, augment=AugmentConfig(0.0, 0.0, 0.0, 0.0))
    run_dir = Path(run_dir)
    latest = run_dir / "checkpoints" / "latest.pt"
    _check_run_dir(run_dir, latest, resume)
    device = setup_runtime(config.device, config.threads, bf16=False).device

    text_tokenizer = CharTokenizer()
    step_size = config.model.resample_step
    n_train = config.overfit or config.data.n_train
    train_set = make_ink_set(
        load_split(config.data, "train", n_train, config.seed), text_tokenizer, step_size
    )
    val_set = (
        train_set
        if config.overfit
        else make_ink_set(
            load_split(config.data, "val", config.data.n_val, config.seed), text_tokenizer, step_size
        )
    )
    if len(train_set) < min(config.batch_size, n_train) or len(val_set) == 0:
        raise ConfigError(
            f"data: only {len(train_set)} training / {len(val_set)} validation samples can be read "
            f"(dropped {train_set.dropped}); the recognizer needs texts and ink"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(config, run_dir / "config.yaml")

    torch.manual_seed(config.seed)
    model = InkReader(config.model, text_tokenizer.vocab_size)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, config))
    step, best_cer, past_seconds = 0, math.inf, 0.0
    log = RunLog(run_dir / "metrics.jsonl")
    if resume:
        ckpt = load_recognizer(latest)
        if ckpt.config != config.model:
            raise CheckpointError(f"{latest}: its model config differs from {run_dir}/config.yaml")
        model.load_state_dict(ckpt.model.state_dict())
        optimizer.load_state_dict(ckpt.extra["optimizer"])
        scheduler.load_state_dict(ckpt.extra["scheduler"])
        step, best_cer = int(ckpt.extra["step"]), float(ckpt.extra["best_val_cer"])
        past_seconds = float(ckpt.extra["train_seconds"])
        for torn in latest.parent.glob(".*.tmp"):  # a checkpoint write the kill interrupted
            torn.unlink()
        log.resumed(step, past_seconds)
    model.to(device)

    order = BatchOrder(
        train_set.lengths, min(config.batch_size, len(train_set)), config.seed, config.bucket_batches
    )
    val_cer = math.nan
    window = LossWindow()

    def seconds() -> float:
        return past_seconds + time.monotonic() - started

    def checkpoint(name: str, resumable: bool) -> None:
        extra = {
            "step": step,
            "best_val_cer": best_cer,
            "val_cer": val_cer,
            "train_seconds": seconds(),
            "train_config": to_dict(config),
        }
        if resumable:
            extra |= {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}
        save_recognizer(run_dir / "checkpoints" / name, model, text_tokenizer, extra)

    if progress:
        progress(step, config.steps, {})
    model.train()
    while step < config.steps:
        torch.manual_seed(_step_seed(config.seed, step, 0))  # dropout: a function of the step
        batch = {k: v.to(device) for k, v in training_batch(step, train_set, order, config).items()}
        loss = ctc_loss(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        scheduler.step()
        step += 1
        window.add(loss.item())
        if step % config.log_every == 0 or step == config.steps:
            lr = scheduler.get_last_lr()[0]
            log.write("train", step, **window.close(), lr=lr, grad_norm=float(grad_norm), seconds=seconds())
        if step % config.checkpoint_every == 0 or step == config.steps:
            val_cer, val_loss, _ = evaluate(model, val_set, device)
            is_best = val_cer < best_cer
            best_cer = min(best_cer, val_cer)
            log.write("val", step, val_cer=val_cer, val_loss=val_loss, seconds=seconds())
            plot_run_curves(
                run_dir / "metrics.jsonl", run_dir / CURVES_FILE, title=f"{run_dir.name}: training curves"
            )
            checkpoint("latest.pt", resumable=True)
            if is_best:
                checkpoint("best.pt", resumable=False)
        if progress:
            progress(step, config.steps, {"loss": loss.item(), "val_cer": val_cer})

    if math.isnan(val_cer):  # resumed a finished run: nothing trained, still report where it stands
        val_cer, _, _ = evaluate(model, val_set, device)
    return RecognizerRunSummary(
        run_dir=str(run_dir),
        step=step,
        train_loss=window.last_mean,
        val_cer=val_cer,
        best_val_cer=best_cer,
        train_seconds=seconds(),
        n_parameters=model.num_parameters(),
        n_train=len(train_set),
        dropped=train_set.dropped,
    )


def training_batch(step: int, data: InkSet, order: BatchOrder, config: RecognizerTrainConfig) -> dict:
    """Batch `step`: its samples (all of them when overfitting), each augmented by a draw of (seed, step)."""
    rows = range(len(data)) if config.overfit else order.batch(step).tolist()
    rng = np.random.default_rng([config.seed, step, 5])
    features = [
        features_from_points(augment_points(data.points[i], config.augment, rng), config.model.resample_step)
        for i in rows
    ]
    return batch_tensors(features, [data.labels[i] for i in rows])
