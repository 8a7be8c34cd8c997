"""The training loop for the stroke transformer: data, losses, the loop, validation and samples.

Its parts live beside it: the settings in train_config.py, the device / DDP / autocast in runtime.py, what a
checkpoint restores (model, optimizer, schedule, RNG) in training_state.py, metrics.jsonl in run_log.py.

`train(config, run_dir)` fills a run directory:

    config.yaml        the resolved TrainConfig
    tokenizer.json     the trajectory tokenizer fitted on the training data
    metrics.jsonl      one JSON object per line: {"kind": "train" | "val", "step": ..., ...}
    curves.png         the losses, learning rate and validation figures so far (run_curves.py), redrawn at
                       every validation
    checkpoints/       latest.pt (every `checkpoint_every` steps) and best.pt (lowest validation loss)
    samples/           PNGs of the fixed validation phrases written greedily, every `sample_every` steps
                       (and, with the shipped recognizer, what it reads in them: "read_back" metrics)
    attention/         their cross-attention heatmaps (stroke steps x characters)

Resuming is exact: the batch order and every random draw are pure functions of (seed, step, rank), and the
checkpoint holds the step, the optimizer, the LR schedule and the global RNG states, so
`train(..., resume=True)` after a crash produces the same weights as a run that never stopped. Under
`torchrun` (WORLD_SIZE > 1) every rank trains on its own batches with DistributedDataParallel; rank 0 alone
writes the run directory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from trajtok.augment import augment_sample
from trajtok.batching import BatchOrder, EncodedSet, collate, encode_samples
from trajtok.checkpoint import Checkpoint, load_checkpoint
from trajtok.chunk_tokenizer import ChunkTokenizer
from trajtok.config import save_config
from trajtok.ctc import decode_batch
from trajtok.data import load_source
from trajtok.data.hershey import iter_samples, style_ids
from trajtok.errors import CheckpointError, ConfigError
from trajtok.generate import Sampling, Writer
from trajtok.line_stitching import stitch_lines
from trajtok.losses import attention_alignment_loss, channel_losses, read_loss, style_contrast_loss
from trajtok.model import StrokeTransformer
from trajtok.phrase_layout import text_following, word_gaps, word_spans
from trajtok.plot import plot_attention, render_ink
from trajtok.recognize import read_back, shipped_recognizer
from trajtok.run_curves import CURVES_FILE, plot_run_curves
from trajtok.run_log import RunLog
from trajtok.runtime import Distributed, Runtime, setup_runtime
from trajtok.sample import Sample, SampleSet
from trajtok.strokes import integrate, thin_sample
from trajtok.style_references import StyleReferences
from trajtok.text import CharTokenizer
from trajtok.text_metrics import cer
from trajtok.tokenizer_choice import AnyTokenizer
from trajtok.train_config import DataConfig, LossConfig, TrainConfig
from trajtok.training_state import TrainingState

# Augmented lines may grow (larger, or thinned more densely): training lines are stitched to this share less
# than fits, with augmentation on or off, so that a run without it trains on the same lines.
AUGMENT_HEADROOM = 1.5

# progress(step, total_steps, metrics): called after every step (rank 0 only); metrics may be empty.
Progress = Callable[[int, int, dict[str, float]], None]


@dataclass
class RunSummary:
    run_dir: str
    step: int
    train_loss: float  # mean weighted loss of the last logging window
    val_loss: float  # cross-entropy per step, summed over channels (nats)
    best_val_loss: float
    train_eval_loss: float  # the validation measure on n_val unaugmented training samples (nan: not measured)
    train_seconds: float  # time spent in this and earlier (resumed) sessions, data preparation included
    n_parameters: int
    n_train: int
    dropped: dict[str, int]


# ---------------------------------------------------------------------------------------------------------
# Data


@dataclass
class TrainingData:
    train: EncodedSet
    val: EncodedSet
    tokenizer: AnyTokenizer
    text_tokenizer: CharTokenizer
    max_steps_per_char: float  # generation budget the checkpoint records for Writer
    min_word_gap: float  # the gap Writer keeps at blanks: the training data's 25th percentile (0: unknown)
    draws: FreshDraws | None = None  # augmentation on: each training batch drawn afresh
    train_probe: EncodedSet | None = None  # n_val training samples, unaugmented: the train/val loss gap
    references: StyleReferences | None = None  # model.style_steps > 0: each row's reference of its hand


def load_samples(data: DataConfig, split: str, n: int, seed: int, progress=None) -> SampleSet:
    """n samples of `split`, thinned: the synthetic stream filtered by writer, or any load_source spec
    (`progress(done, total)` while it is built)."""
    loaded = load_unthinned(data, split, n, seed, progress)
    loaded.samples = [thin_sample(s, data.spacing) for s in loaded.samples]
    return loaded


def load_unthinned(data: DataConfig, split: str, n: int, seed: int, progress=None) -> SampleSet:
    """`load_samples` before the thinning."""
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
        loaded = load_source(data.source, split=split, n=n, seed=seed, progress=progress, **data.options)
    if not loaded.samples:
        hint = "; training needs 2 samples or more, one held out to validate on" if split == "val" else ""
        raise ConfigError(f"data: source {data.source!r} gave no {split} samples{hint}")
    return loaded


def load_lines(data: DataConfig, split: str, n: int, seed: int, max_steps: int) -> SampleSet:
    """n unthinned samples of `split`, each 1..N words of the source stitched into a line (line_stitching;
    data.words_per_sample) and a line no longer, thinned, than `max_steps` unless it is a single word."""
    loaded = load_unthinned(data, split, n, seed)
    low, high = data.words_per_sample
    if high == 1:
        return loaded
    lengths = [len(thin_sample(w, data.spacing)) for w in loaded.samples]
    lines = stitch_lines(loaded.samples, n, (low, high), seed, lengths, max_steps)
    return dataclasses.replace(loaded, samples=lines)


def prepare_data(config: TrainConfig, tokenizer: AnyTokenizer | None = None) -> TrainingData:
    """Training and validation sets, tokenized; the tokenizer is fitted on the training deltas if None.
    With augmentation on (data.augment), the unthinned training samples are kept to draw each batch afresh."""
    data_config, m = config.data, config.model
    n_train = config.overfit or data_config.n_train
    train_set = load_lines(data_config, "train", n_train, config.seed, int(m.max_steps / AUGMENT_HEADROOM))
    augment = data_config.augment
    augmenting = augment.check_data(data_config.source, train_set, data_config.spacing) and not config.overfit
    unthinned = train_set.samples
    train_samples = [thin_sample(s, data_config.spacing) for s in unthinned]
    val_lines = load_lines(data_config, "val", data_config.n_val, config.seed, m.max_steps).samples
    val_samples = [thin_sample(s, data_config.spacing) for s in val_lines]
    if tokenizer is None:
        tokenizer = config.tokenizer.build(train_set.dim_names, train_set.event_names)
        deltas = [s.deltas for s in train_samples]
        if isinstance(tokenizer, ChunkTokenizer):  # chunk schemes also choose each event's mark coding
            tokenizer.fit(deltas, [s.events for s in train_samples])
        else:
            tokenizer.fit(deltas)
    state_size = 0 if train_samples[0].state is None else len(train_samples[0].state)
    if state_size != config.model.state_dim:
        raise ConfigError(
            f"data: {config.data.source} carries a state vector of size {state_size} but "
            f"model.state_dim={config.model.state_dim}; set model.state_dim={state_size}"
        )
    text_tokenizer = CharTokenizer()
    train = encode_samples(train_samples, tokenizer, text_tokenizer, m.max_steps, m.max_text)
    val = encode_samples(val_samples, tokenizer, text_tokenizer, m.max_steps, m.max_text)
    weights = config.loss.channel_weights
    if weights and len(weights) != tokenizer.n_channels:
        raise ConfigError(
            f"config: loss.channel_weights has {len(weights)} values; give one per channel "
            f"({', '.join(tokenizer.channel_names)}) or none"
        )
    if len(train) < min(config.batch_size, n_train) or len(val) == 0:
        if train.dropped or val.dropped:
            raise ConfigError(
                f"data: only {len(train)} training / {len(val)} validation samples fit the model (dropped: "
                f"training {train.dropped}, validation {val.dropped}); raise model.max_steps or data.spacing"
            )
        raise ConfigError(  # an empty validation set is one whose samples were all dropped, above
            f"data: {data_config.source} gives {len(train)} training / {len(val)} validation samples, all of "
            f"which fit the model: too few for a batch (batch_size={config.batch_size}); give more data, or "
            f"set batch_size={max(len(train), 1)} or lower"
        )
    per_char = [
        len(tokens) / len(text) for tokens, text in zip(train.tokens, train.texts, strict=True) if text
    ]
    steps_per_char = 1.5 * float(np.percentile(per_char, 99))
    gaps = [gap for s in train_samples for gap in word_gaps(s)]
    min_word_gap = float(np.percentile(gaps, 25)) if gaps else 0.0
    draws = None
    if augmenting:
        kept = [unthinned[i] for i in train.origins]
        draws = FreshDraws(kept, data_config, tokenizer, text_tokenizer, m.max_steps, m.max_text)
    probe = train.subset(list(range(min(len(train), data_config.n_val))))
    references = StyleReferences(train, m.style_steps, data_config.source) if m.style_steps else None
    return TrainingData(
        train, val, tokenizer, text_tokenizer, steps_per_char, min_word_gap, draws, probe, references
    )


@dataclass
class FreshDraws:
    """The training samples before thinning (row i of the encoded set is samples[i]), drawn afresh for
    every batch: each augmented (trajtok.augment) by a draw of (seed, batch), thinned and tokenized."""

    samples: list[Sample]
    data: DataConfig
    tokenizer: AnyTokenizer
    text_tokenizer: CharTokenizer
    max_steps: int
    max_text: int

    def encode(self, rows: list[int], rng: np.random.Generator) -> EncodedSet:
        """The rows, augmented; a row that no longer fits the model is left out of this batch."""
        drawn = [augment_sample(self.samples[i], self.data.augment, self.data.spacing, rng) for i in rows]
        return encode_samples(drawn, self.tokenizer, self.text_tokenizer, self.max_steps, self.max_text)


# ---------------------------------------------------------------------------------------------------------
# Losses, schedule, devices


def compute_losses(
    model: torch.nn.Module,
    batch: dict[str, torch.Tensor],
    loss_config: LossConfig,
    tokenizer: AnyTokenizer,
    reads: bool = False,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Weighted training loss and its parts: loss_<channel> (dx, dy, pen_lift), loss_attention, and with
    `reads` (a model.reads model) loss_read, the CTC loss of reading the batch's strokes back."""
    need_attention = loss_config.attention_weight > 0
    reads = reads and loss_config.read_weight > 0
    out = model(
        batch["text_ids"],
        batch["text_pad_mask"],
        batch["tokens"],
        batch.get("state"),
        need_attention=need_attention,
        read_mask=batch["step_mask"] if reads else None,
        style=(batch["style_tokens"], batch["style_mask"]) if "style_tokens" in batch else None,
    )
    focal = set(tokenizer.event_channels)  # event channels are rare: focal loss
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
    if reads:
        read = read_loss(*out.read, batch["text_ids"], batch["text_pad_mask"])
        loss = loss + loss_config.read_weight * read
        parts["loss_read"] = read
    if "style_writer" in batch and loss_config.style_contrast_weight > 0:
        contrast = style_contrast_loss(
            out.hand, batch["style_writer"], loss_config.style_contrast_temperature
        )
        loss = loss + loss_config.style_contrast_weight * contrast
        parts["loss_style_contrast"] = contrast
    return loss, parts


# ---------------------------------------------------------------------------------------------------------
# The loop


def train(
    config: TrainConfig, run_dir: str | Path, resume: bool = False, progress: Progress | None = None
) -> RunSummary:
    """Train (or with `resume`, continue training) into `run_dir`; returns the run's summary."""
    started = time.monotonic()
    if config.overfit:  # a copy: the caller's config stays as it was
        model = dataclasses.replace(config.model, dropout=0.0)
        config = dataclasses.replace(config, no_text_fraction=0.0, no_style_fraction=0.0, model=model)
    run_dir = Path(run_dir)
    latest = run_dir / "checkpoints" / "latest.pt"
    _check_run_dir(run_dir, latest, resume)
    runtime = setup_runtime(config.device, config.threads, config.bf16)
    is_main = runtime.ddp.is_main
    ckpt = load_checkpoint(latest) if resume else None
    start = None if resume else initial_checkpoint(config)
    known = ckpt or start  # whose tokenizer the run keeps (None: fit one on the training data)
    data = prepare_data(config, tokenizer=known.tokenizer if known else None)
    log = RunLog(run_dir / "metrics.jsonl", enabled=is_main)
    if is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_config(config, run_dir / "config.yaml")
        data.tokenizer.save(run_dir / "tokenizer.json")

    facts = {"max_steps_per_char": data.max_steps_per_char, "min_word_gap": data.min_word_gap}
    state = TrainingState(config, data.tokenizer, data.text_tokenizer, facts, started)
    if start is not None:
        load_start_weights(state.model, start)
    if ckpt is not None:
        state.restore(ckpt)
        if is_main:
            for torn in latest.parent.glob(".*.tmp"):  # a checkpoint write the kill interrupted
                torn.unlink()
            log.resumed(state.step, state.past_seconds)
    state.model.to(runtime.device)
    net = runtime.wrap(state.model)
    order = BatchOrder(
        data.train.lengths, min(config.batch_size, len(data.train)), config.seed, config.bucket_batches
    )
    window = LossWindow()
    val_loss = train_eval_loss = math.nan
    if progress and is_main:
        progress(state.step, config.steps, {})
    state.model.train()
    while state.step < config.steps:
        loss, parts, grad_norm = train_step(net, state, data, order, runtime, config)
        step = state.step
        window.add(loss)
        if step % config.log_every == 0 or step == config.steps:
            lr = state.scheduler.get_last_lr()[0]
            log.write(
                "train", step, **window.close(), **parts, lr=lr, grad_norm=grad_norm, seconds=state.seconds()
            )
        if step % config.checkpoint_every == 0 or step == config.steps:
            val_loss, val_parts = evaluate(
                state.model, data.val, data.tokenizer, runtime.device, runtime.autocast
            )
            if data.train_probe is not None and len(data.train_probe):
                train_eval_loss, _ = evaluate(
                    state.model, data.train_probe, data.tokenizer, runtime.device, runtime.autocast
                )  # the same measure on training samples: what the model learned by heart shows as the gap
                val_parts.update(train_eval_loss=train_eval_loss, loss_gap=val_loss - train_eval_loss)
            is_best = val_loss < state.best_val
            state.best_val = min(state.best_val, val_loss)
            if config.model.reads:  # the other direction: reading the validation strokes back
                val_parts["val_read_cer"] = read_cer(
                    state.model, data.val, data.text_tokenizer, runtime.device, runtime.autocast
                )
            accuracy, word_accuracy = attention_accuracy(
                state.model, data.val, runtime.device, runtime.autocast
            )  # Writer trusts the attention to tell where the phrase is (phrase_layout)
            if accuracy is not None:
                state.facts["attention_accuracy"] = val_parts["val_attention_accuracy"] = accuracy
            if word_accuracy is not None:
                state.facts["word_attention_accuracy"] = val_parts["val_word_attention_accuracy"] = (
                    word_accuracy
                )
            if is_main:
                log.write("val", step, val_loss=val_loss, **val_parts, seconds=state.seconds())
                state.save(run_dir / "checkpoints" / "latest.pt")
                if is_best:
                    state.save(run_dir / "checkpoints" / "best.pt", resumable=False)
        if is_main and config.snapshot_every and step % config.snapshot_every == 0:
            state.save(run_dir / "checkpoints" / f"step{step:06d}.pt", resumable=False)
        sampled = (config.sample_every and step % config.sample_every == 0) or step == config.steps
        if is_main and sampled:
            write_samples(state.model, data, config, runtime.device, run_dir, step, state.facts)
            state.model.train()
        if is_main and (sampled or step % config.checkpoint_every == 0):
            plot_run_curves(
                run_dir / "metrics.jsonl", run_dir / CURVES_FILE, title=f"{run_dir.name}: training curves"
            )
        if progress and is_main:
            progress(step, config.steps, {"loss": loss, "val_loss": val_loss})

    if math.isnan(val_loss):  # resumed a finished run: nothing trained, still report where it stands
        val_loss, _ = evaluate(state.model, data.val, data.tokenizer, runtime.device, runtime.autocast)
    check_replicas(state.model, runtime.ddp, log, state.step)
    return RunSummary(
        run_dir=str(run_dir),
        step=state.step,
        train_loss=window.last_mean,
        val_loss=val_loss,
        best_val_loss=state.best_val,
        train_eval_loss=train_eval_loss,
        train_seconds=state.seconds(),
        n_parameters=state.model.num_parameters(),
        n_train=len(data.train),
        dropped=data.train.dropped,
    )


def initial_checkpoint(config: TrainConfig) -> Checkpoint | None:
    """The checkpoint `init_from` names (None without one), checked to fit the run's model settings."""
    if not config.init_from:
        return None
    start = load_checkpoint(None if config.init_from == "shipped" else config.init_from)
    trained, wanted = dataclasses.asdict(start.model_config), dataclasses.asdict(config.model)
    adds_style = trained["style_steps"] == 0 < wanted["style_steps"]  # a style encoder grown on, fresh
    differ = [
        f"model.{k}={trained[k]!r}"
        for k in trained
        if k != "dropout" and trained[k] != wanted[k] and not (k == "style_steps" and adds_style)
    ]
    if differ:
        raise ConfigError(
            f"init_from {start.path}: that model was trained with {', '.join(differ)}; set the same "
            "(or train from scratch without init_from)"
        )
    return start


def load_start_weights(model: torch.nn.Module, start: Checkpoint) -> None:
    """`start`'s weights into the run's model. A style encoder the start lacks (init_from a model without
    one, model.style_steps > 0 here) starts fresh, its output projection at zero: the hand it adds to every
    decoder input is nothing until training makes it something, so the start writes as it did."""
    missing, unexpected = model.load_state_dict(start.model.state_dict(), strict=False)
    grown = [k for k in missing if k.startswith("style_encoder.")]
    if unexpected or len(grown) != len(missing):
        raise ConfigError(f"init_from {start.path}: weights that do not fit: {sorted(unexpected + missing)}")
    if grown:
        torch.nn.init.zeros_(model.style_encoder.proj.weight)
        torch.nn.init.zeros_(model.style_encoder.proj.bias)


def _check_run_dir(run_dir: Path, latest: Path, resume: bool) -> None:
    if resume and not latest.is_file():
        raise CheckpointError(f"{latest}: no checkpoint to resume from")
    if not resume and latest.is_file():
        raise ConfigError(
            f"{run_dir} already holds a run; resume it with --resume or choose another --run-dir"
        )


def train_step(
    net: torch.nn.Module,
    state: TrainingState,
    data: TrainingData,
    order: BatchOrder,
    runtime: Runtime,
    config: TrainConfig,
) -> tuple[float, dict[str, float], float]:
    """One optimizer step on this rank's batch; returns (loss, its parts, gradient norm) and advances `state`.

    Dropout and the batch are functions of (seed, step, rank), so a resumed run draws what an unbroken one
    would."""
    ddp = runtime.ddp
    torch.manual_seed(_step_seed(config.seed, state.step, ddp.rank))
    k = state.step * ddp.world_size + ddp.rank  # this rank's global batch number
    batch = training_batch(k, data.train, order, config, data.draws, data.references)
    batch = {key: value.to(runtime.device) for key, value in batch.items()}
    with runtime.autocast:
        loss, parts = compute_losses(net, batch, config.loss, data.tokenizer, config.model.reads)
    state.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(state.model.parameters(), config.grad_clip)
    state.optimizer.step()
    state.scheduler.step()
    state.step += 1
    return loss.item(), {key: value.item() for key, value in parts.items()}, float(grad_norm)


class LossWindow:
    """The training losses since the last log line: their mean, and the steps/s over the window."""

    def __init__(self):
        self.losses: list[float] = []
        self.started = time.monotonic()
        self.last_mean = math.nan

    def add(self, loss: float) -> None:
        self.losses.append(loss)

    def close(self) -> dict[str, float]:
        now = time.monotonic()
        self.last_mean = float(np.mean(self.losses))
        figures = {"loss": self.last_mean, "steps_per_s": len(self.losses) / max(now - self.started, 1e-9)}
        self.losses, self.started = [], now
        return figures


def check_replicas(model: torch.nn.Module, ddp: Distributed, log: RunLog, step: int) -> None:
    """Under DDP the replicas must hold bit-identical weights: gather their digests into the metrics."""
    if not ddp.enabled:
        return
    digests: list[str | None] = [None] * ddp.world_size
    dist.all_gather_object(digests, weights_digest(model))
    log.write("ddp", step, world_size=ddp.world_size, weight_digests=digests)
    dist.barrier()


def _step_seed(seed: int, step: int, rank: int) -> int:
    return int(np.random.default_rng([seed, step, rank, 7]).integers(2**62))


def training_batch(
    k: int,
    data: EncodedSet,
    order: BatchOrder,
    config: TrainConfig,
    draws: FreshDraws | None = None,
    references: StyleReferences | None = None,
) -> dict[str, torch.Tensor]:
    """Global batch k: its samples (every sample when overfitting), a `no_text_fraction` of them textless;
    with `draws`, each sample augmented by a draw of (seed, k); with `references`, each shown a reference
    of its writer's hand (a `no_style_fraction` of them none), a draw of (seed, k)."""
    rows = np.arange(len(data)) if config.overfit else order.batch(k)
    picked = rows  # the rows of `data` the batch shows
    if draws is not None:
        drawn = draws.encode(rows.tolist(), np.random.default_rng([config.seed, k, 3]))
        if len(drawn):
            data, rows, picked = drawn, np.arange(len(drawn)), rows[drawn.origins]
    batch = collate(data, rows, blank_rows(config.seed, k, len(rows), config.no_text_fraction))
    if references is not None:
        rng = np.random.default_rng([config.seed, k, 5])
        batch.update(references.batch(picked, rng, config.no_style_fraction))
    return batch


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
    tokenizer: AnyTokenizer,
    device: torch.device,
    autocast: torch.autocast,
    batch_size: int = 32,
) -> tuple[float, dict[str, float]]:
    """Validation loss: cross-entropy per step summed over channels (nats; no focal, no weights) + parts.
    A style model (model.style_steps) sees each row with a reference of its writer, as in training."""
    was_training = model.training
    model.eval()
    plain = LossConfig(focal_gamma=0.0, attention_weight=0.0, style_contrast_weight=0.0)
    style_steps = model.config.style_steps
    references = StyleReferences(data, style_steps, "the evaluated set") if style_steps else None
    totals: dict[str, float] = {}
    n_steps = 0
    for start in range(0, len(data), batch_size):
        rows = range(start, min(start + batch_size, len(data)))
        batch = collate(data, rows)
        if references is not None:  # the same references at every evaluation: a draw of the batch's start
            batch.update(references.batch(np.array(rows), np.random.default_rng([start, 11])))
        batch = {k: v.to(device) for k, v in batch.items()}
        steps = int(batch["step_mask"].sum())
        with autocast:
            _, parts = compute_losses(model, batch, plain, tokenizer)
        for key, value in parts.items():
            totals[f"val_{key}"] = totals.get(f"val_{key}", 0.0) + float(value) * steps
        n_steps += steps
    model.train(was_training)
    parts = {key: value / n_steps for key, value in totals.items()}
    return sum(parts.values()), parts


@torch.no_grad()
def read_cer(
    model: StrokeTransformer,
    data: EncodedSet,
    text_tokenizer: CharTokenizer,
    device: torch.device,
    autocast: torch.autocast,
    batch_size: int = 32,
) -> float:
    """Greedy CER of a reading model (model.reads) on the texts of `data`, from their step tokens."""
    was_training = model.training
    model.eval()
    reads = []
    for start in range(0, len(data), batch_size):
        rows = range(start, min(start + batch_size, len(data)))
        batch = collate(data, rows)
        with autocast:
            log_probs, frames = model.read(batch["tokens"].to(device), batch["step_mask"].to(device))
        reads += decode_batch(log_probs.cpu().numpy(), frames.tolist())
    model.train(was_training)
    texts = [text_tokenizer.decode(ids) for ids in data.text_ids]
    return cer([text_tokenizer.decode(ids) for ids in reads], texts)


@torch.no_grad()
def attention_accuracy(
    model: StrokeTransformer,
    data: EncodedSet,
    device: torch.device,
    autocast: torch.autocast,
    batch_size: int = 32,
) -> tuple[float | None, float | None]:
    """How well the last-layer cross-attention (head mean) follows the text, over the validation steps:
    (the share of steps whose attention peaks on the character they draw, over the steps whose character
    is known; the share whose peak lies in the word they draw or the blank before it, over the steps whose
    word is known). None where none is known (data without char_index / word_index)."""
    was_training = model.training
    model.eval()
    hits = known = word_hits = words_known = 0
    for start in range(0, len(data), batch_size):
        rows = range(start, min(start + batch_size, len(data)))
        batch = {k: v.to(device) for k, v in collate(data, rows).items()}
        char_index, word_index = batch["char_index"], batch["word_index"]
        if not ((char_index >= 0).any() or (word_index >= 0).any()):
            continue
        with autocast:
            out = model(
                batch["text_ids"],
                batch["text_pad_mask"],
                batch["tokens"],
                batch.get("state"),
                need_attention=True,
            )
        focus = out.attention.argmax(-1)
        mask = char_index >= 0
        hits += int((focus == char_index)[mask].sum())
        known += int(mask.sum())
        first, last = word_bounds([data.texts[i] for i in rows], word_index)
        mask = word_index >= 0
        word_hits += int(((focus >= first - 1) & (focus <= last))[mask].sum())
        words_known += int(mask.sum())
    model.train(was_training)
    return (hits / known if known else None), (word_hits / words_known if words_known else None)


def word_bounds(texts: list[str], word_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) first and last character of the word each step is of (word_index (B, T), -1: 0 and -1)."""
    spans = [word_spans(text) for text in texts]
    width = max([len(s) for s in spans] + [1])
    table = torch.zeros((len(texts), width + 1, 2), dtype=torch.long)  # the last column: unknown
    table[:, -1] = torch.tensor([0, -1])
    for row, row_spans in enumerate(spans):
        if row_spans:
            table[row, : len(row_spans)] = torch.tensor(row_spans)
    index = torch.where(word_index >= 0, word_index, width).cpu()
    bounds = table.gather(1, index[..., None].expand(-1, -1, 2)).to(word_index.device)
    return bounds[..., 0], bounds[..., 1]


def write_samples(
    model: StrokeTransformer,
    data: TrainingData,
    config: TrainConfig,
    device: torch.device,
    run_dir: Path,
    step: int,
    facts: dict,
) -> None:
    """Greedy handwriting of the fixed validation phrases (PNG each) and their cross-attention heatmaps."""
    if not config.sample_phrases:
        return
    writer = Writer(
        model,
        data.tokenizer,
        data.text_tokenizer,
        device,
        data.max_steps_per_char,
        0.0,
        text_following(facts),
        data.min_word_gap,
    )
    written = writer.write(config.sample_phrases, Sampling(temperature=0.0))
    for i, sample in enumerate(written):
        render_ink(
            integrate(sample.deltas, sample.events[:, 0]), run_dir / "samples" / f"step{step:06d}_{i}.png"
        )
    attentions = [writer.attention(s) for s in written if len(s)]
    texts = [s.text for s in written if len(s)]
    if attentions:
        plot_attention(attentions, texts, run_dir / "attention" / f"step{step:06d}.png")
    recognizer = shipped_recognizer()  # one more legibility figure, when this install ships a reader
    if recognizer is not None:
        reads, cer = read_back(written, recognizer)
        RunLog(run_dir / "metrics.jsonl").write("read_back", step, recognizer_cer=cer, reads=reads)
