"""The training settings: one dataclass per section, their defaults (the default handwriting run) and their
checks. `load_train_config` layers them: these defaults, then the task's file (trajtok/tasks/TASK.yaml, only
what differs), then --config FILE, then key=value overrides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from trajtok.augment import Augmentation
from trajtok.chunk_tokenizer import CHUNK_SCHEMES
from trajtok.config import load_config
from trajtok.data.texts import VALIDATION_PHRASES
from trajtok.errors import ConfigError
from trajtok.model_config import ModelConfig
from trajtok.seeds import SEED_RANGE, is_seed
from trajtok.tasks import task_file
from trajtok.text import CharTokenizer
from trajtok.tokenizer_choice import make_tokenizer


def _require(checks: list[tuple[bool, str]]) -> None:
    """Refuse the first setting that would fail later or silently do nothing, naming the key to fix."""
    for bad, message in checks:
        if bad:
            raise ConfigError(f"config: {message}")


@dataclass
class DataConfig:
    source: str = "hershey"  # "hershey" streams the embedded synthetic corpus; else any load_source spec
    n_train: int = 12000  # training samples, generated once (~1 min) and cycled through in epochs
    n_val: int = 96  # validation samples (validation loss, best.pt)
    max_chars: int = 24  # longest text the synthetic corpus writes
    # hershey writers to keep, by name or style_id (hershey.STYLES); [] = all. The print ones: what OCR reads.
    styles: list[int | str] = field(default_factory=lambda: ["print", "roman-slanted", "print-wide"])
    spacing: float = 0.4  # thin strokes to about one point per this much ink (x-heights); 0 = keep all
    # loader options of `source` (load_source / --option), e.g. {events: none}; refused where unused
    options: dict[str, Any] = field(default_factory=dict)
    # [min, max] words of one writer stitched into each sample (line_stitching); [1, 1]: as they come
    words_per_sample: list[int] = field(default_factory=lambda: [1, 1])
    # random geometry and resampling of every training batch (trajtok.augment); by default real sources only
    augment: Augmentation = field(default_factory=Augmentation)

    def __post_init__(self) -> None:
        words = self.words_per_sample
        _require(
            [
                (
                    len(words) != 2 or not 1 <= words[0] <= words[1],
                    f"data.words_per_sample must be [min, max] with 1 <= min <= max, got {words}",
                ),
                *self.augment.problems(),
                (self.n_train < 1 or self.n_val < 1, "data.n_train and data.n_val must be >= 1"),
                (
                    self.source == "hershey" and bool(self.options),
                    "data.options: the hershey stream takes data.max_chars and data.styles, not options",
                ),
                (self.max_chars < 1, "data.max_chars must be >= 1"),
                (self.spacing < 0, "data.spacing must be >= 0"),
            ]
        )


@dataclass
class TokenizerConfig:
    # per-step bins (adaptive, uniform, quantile) or chunks of `chunk` steps (dct = FAST, bspline = BEAST)
    scheme: Literal["adaptive", "uniform", "quantile", "dct", "bspline"] = "adaptive"
    n_bins: int = 24  # bins per dim (per-step schemes)
    error_feedback: bool = True
    chunk: int = 10  # steps per chunk (chunk schemes)
    scale: float = 10.0  # dct: coefficient scale before rounding (higher = finer, more tokens)
    bpe_vocab: int = 1024  # dct: byte-pair vocabulary size
    n_control: int = 6  # bspline: control points per dim and chunk
    n_levels: int = 256  # bspline: quantization levels per control point

    def __post_init__(self) -> None:
        _require(
            [
                (self.n_bins < 2, "tokenizer.n_bins must be >= 2"),
                (self.chunk < 2, "tokenizer.chunk must be >= 2"),
                (self.scale <= 0, "tokenizer.scale must be > 0"),
                (self.bpe_vocab < 2 or self.n_levels < 2, "tokenizer.bpe_vocab and n_levels must be >= 2"),
                (not 4 <= self.n_control <= self.chunk, "tokenizer.n_control must be in 4..tokenizer.chunk"),
            ]
        )

    def build(self, dim_names, event_names):
        """An unfitted tokenizer with these settings."""
        settings = {"n_bins": self.n_bins, "error_feedback": self.error_feedback}
        if self.scheme in CHUNK_SCHEMES:
            settings.update(chunk=self.chunk, scale=self.scale, bpe_vocab=self.bpe_vocab)
            settings.update(n_control=self.n_control, n_levels=self.n_levels)
        return make_tokenizer(dim_names, event_names, self.scheme, **settings)


@dataclass
class LossConfig:
    channel_weights: list[float] = field(default_factory=list)  # one per channel (dx, dy, pen_lift); [] = 1s
    focal_gamma: float = 2.0  # focal loss exponent on the event channels (0 = cross-entropy)
    attention_weight: float = 0.2  # cross-attention alignment toward the drawn character (0 = off)
    read_weight: float = 1.0  # the CTC loss of reading the strokes back (only a model.reads=true model reads)
    # model.style_steps > 0: pull the hands read from references of one writer together, apart from others
    style_contrast_weight: float = 0.2
    style_contrast_temperature: float = 0.1

    def __post_init__(self) -> None:
        _require(
            [
                (self.focal_gamma < 0, "loss.focal_gamma must be >= 0"),
                (self.attention_weight < 0, "loss.attention_weight must be >= 0"),
                (self.read_weight < 0, "loss.read_weight must be >= 0"),
                (self.style_contrast_weight < 0, "loss.style_contrast_weight must be >= 0"),
                (self.style_contrast_temperature <= 0, "loss.style_contrast_temperature must be > 0"),
            ]
        )


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
    no_style_fraction: float = 0.1  # model.style_steps > 0: share of training samples shown no reference
    bucket_batches: int = 32  # batches of similar length are cut from windows of this many batches
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"  # auto: cuda, then mps, then cpu
    bf16: bool = True  # bf16 autocast on GPU (ignored on CPU)
    threads: int = 0  # torch CPU threads; 0 = torch's default (one per core)
    log_every: int = 10
    checkpoint_every: int = 500  # validation loss + checkpoints/latest.pt (+ best.pt)
    sample_every: int = 1500  # sample PNGs + attention heatmaps; 0 = only at the end
    snapshot_every: int = 1000  # > 0: also keep weights-only checkpoints/stepNNNNNN.pt (curves over time)
    sample_phrases: list[str] = field(default_factory=lambda: list(VALIDATION_PHRASES[:4]))
    overfit: int = 0  # > 0: train on this many fixed samples, no dropout, no blank texts (debugging)
    # fine-tuning: a handwriting checkpoint (run dir or .pt; "shipped": the shipped model) whose weights and
    # tokenizer start the run; model.* must be as it was trained (dropout may differ; model.style_steps > 0
    # on a model without a style encoder grows one on, fresh). "": a fresh model
    init_from: str = ""
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    loss: LossConfig = field(default_factory=LossConfig)

    def __post_init__(self) -> None:
        text_tokenizer = CharTokenizer()  # the one training builds (trajtok.train)
        alphabet = [p for t in self.sample_phrases if (p := text_tokenizer.alphabet_problem(t))]
        long = [t for t in self.sample_phrases if len(t) > self.model.max_text]
        _require(
            [
                (bool(alphabet), f"sample_phrases: {alphabet[0] if alphabet else ''}"),
                (
                    bool(long),
                    f"sample_phrases: a phrase of {len(long[0]) if long else 0} characters; the model reads "
                    f"at most model.max_text={self.model.max_text}",
                ),
                (not is_seed(self.seed), f"seed must be {SEED_RANGE}"),
                (self.steps < 1, "steps must be >= 1"),
                (self.batch_size < 1, "batch_size must be >= 1"),
                (self.lr <= 0 or self.min_lr < 0, "lr must be > 0 and min_lr >= 0"),
                (self.warmup_steps < 0, "warmup_steps must be >= 0"),
                (not 0 <= self.no_text_fraction <= 1, "no_text_fraction must be in [0, 1]"),
                (not 0 <= self.no_style_fraction <= 1, "no_style_fraction must be in [0, 1]"),
                (
                    not 0 <= self.model.style_steps <= self.model.max_steps,
                    "model.style_steps must be in [0, model.max_steps]",
                ),
                (self.checkpoint_every < 1, "checkpoint_every must be >= 1"),
                (self.log_every < 1, "log_every must be >= 1"),
                (self.sample_every < 0, "sample_every must be >= 0"),
                (self.snapshot_every < 0, "snapshot_every must be >= 0"),
                (self.overfit < 0, "overfit must be >= 0"),
                (self.threads < 0, "threads must be >= 0"),
                (self.bucket_batches < 1, "bucket_batches must be >= 1"),
                (
                    self.model.d_model % self.model.n_heads != 0,
                    "model.d_model must be a multiple of model.n_heads",
                ),
                (
                    self.model.reads and self.model.state_dim > 0,
                    "model.reads: a model conditioned on a state vector (model.state_dim > 0) cannot read",
                ),
            ]
        )


def load_train_config(
    task: str = "handwriting", path: str | Path | None = None, overrides: list[str] | None = None
) -> TrainConfig:
    """The defaults, then `trajtok/tasks/{task}.yaml`, then the file at `path`, then `key=value` overrides."""
    return load_config(TrainConfig, [task_file(task), path], overrides)
