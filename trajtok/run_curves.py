"""A run's training curves (RUN/curves.png) from its metrics.jsonl: what people look at first to see whether
a run learns, overfits or diverges.

Panels: the loss the optimizer minimizes on the training batches; the validation loss beside the same
measure on training samples (their distance is what the model learned by heart: the batches are not that
measure, being augmented and, for the stroke model, focal on events with the attention loss added); the
validation loss of each head; the learning rate; and any figures in [0, 1] the run reports (attention
accuracy, the recognizer's CER of what the model writes, a recognizer's validation CER).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from trajtok.plot import save_figure

CURVES_FILE = "curves.png"  # in the run directory
FRACTION_KEYS = {  # figures in [0, 1], and how the panel names them
    "val_attention_accuracy": "attention accuracy (val)",
    "val_word_attention_accuracy": "word attention accuracy (val)",
    "val_read_cer": "reading CER (val)",
    "recognizer_cer": "recognizer CER of written samples",
    "val_cer": "CER (val)",
}


def read_metrics(path: Path) -> list[dict]:
    """The records of metrics.jsonl, skipping a line torn by a kill (the run rewrites it when resumed)."""
    records = []
    for line in Path(path).read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def curves_figure(records: list[dict]) -> Figure:
    train = [r for r in records if r.get("kind") == "train"]
    val = [r for r in records if r.get("kind") == "val"]
    heads = sorted({k[len("val_loss_") :] for r in val for k in r if k.startswith("val_loss_")})
    fractions = [k for k in FRACTION_KEYS if any(k in r for r in records)]
    panels = ["optimized", "loss", *(["heads"] if heads else []), "lr", *(["fractions"] if fractions else [])]
    fig = Figure(figsize=(9.0, 2.2 * len(panels)), dpi=100)
    axes = dict(zip(panels, fig.subplots(len(panels), 1, squeeze=False, sharex=True)[:, 0], strict=True))

    _line(axes["optimized"], _series(train, "loss"), "training batches", color="0.4", lw=1.0)
    axes["optimized"].set_ylabel("loss optimized")

    ax = axes["loss"]
    _line(ax, _series(val, "val_loss"), "validation", color="tab:blue", marker="o", ms=3)
    _line(ax, _series(val, "train_eval_loss"), "training samples, as validation measures", color="tab:orange",
          ls="--", marker=".", ms=3)  # fmt: skip
    best = min(val, key=lambda r: r.get("val_loss", np.inf), default=None)
    if best is not None and "val_loss" in best:
        ax.plot(
            best["step"], best["val_loss"], "*", color="tab:red", ms=10, label=f"best {best['val_loss']:.3f}"
        )
    ax.set_ylabel("loss (validation measure)")

    if heads:
        for name in heads:
            _line(axes["heads"], _series(val, f"val_loss_{name}"), name, marker="o", ms=3)
        axes["heads"].set_ylabel("validation loss a head")

    _line(axes["lr"], _series(train, "lr"), "learning rate", color="tab:green")
    axes["lr"].set_yscale("log")
    axes["lr"].set_ylabel("learning rate")

    if fractions:
        for key in fractions:
            _line(axes["fractions"], _series(records, key), FRACTION_KEYS[key], marker="o", ms=3)
        axes["fractions"].set_ylim(-0.02, 1.02)

    for step in [r["step"] for r in records if r.get("kind") == "resume"]:
        for ax in axes.values():
            ax.axvline(step, color="0.8", lw=0.8, ls=":")
    axes[panels[-1]].set_xlabel("step")
    for ax in axes.values():
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="best")
    return fig


def plot_run_curves(metrics: Path, out: Path, title: str = "") -> Path:
    """curves_figure of `metrics` (a metrics.jsonl) saved to `out`."""
    fig = curves_figure(read_metrics(metrics))
    return save_figure(fig, Path(out), title)


def _series(records: list[dict], key: str) -> list[tuple[int, float]]:
    return [(r["step"], r[key]) for r in records if key in r and r[key] is not None]


def _line(ax, points: list[tuple[int, float]], label: str, **style) -> None:
    if points:
        steps, values = zip(*points, strict=True)
        ax.plot(steps, values, label=label, **style)
