"""A run's curves.png: drawn from metrics.jsonl by the training loops (trajtok/run_curves.py)."""

from __future__ import annotations

import json

from trajtok.run_curves import CURVES_FILE, curves_figure, plot_run_curves, read_metrics


def handwriting_records():
    """What a handwriting run logs (trajtok.train): batches, validations, a resume, a read-back."""
    records = []
    for step in (5, 10, 15, 20):
        records.append({"kind": "train", "step": step, "loss": 6.0 - step / 10, "loss_dx": 2.0, "lr": 1e-3})
        if step % 10 == 0:
            val = 5.0 - step / 100
            records.append(
                {
                    "kind": "val",
                    "step": step,
                    "val_loss": val,
                    "val_loss_dx": 2.5,
                    "val_loss_dy": 2.4,
                    "train_eval_loss": val - 0.1,
                    "val_attention_accuracy": 0.8,
                }  # fmt: skip
            )
    records.insert(4, {"kind": "resume", "step": 10, "seconds": 3.0})
    records.append({"kind": "read_back", "step": 20, "recognizer_cer": 0.25, "reads": []})
    return records


def test_the_panels_show_what_the_run_logged():
    fig = curves_figure(handwriting_records())
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert labels == [
        "loss optimized",
        "loss (validation measure)",
        "validation loss a head",
        "learning rate",
        "",  # the figures in [0, 1], named in the legend
    ]
    optimized, validation, heads, _, fractions = fig.axes
    legend = [t.get_text() for t in validation.get_legend().get_texts()]
    assert legend == ["validation", "training samples, as validation measures", "best 4.800"]
    assert [t.get_text() for t in heads.get_legend().get_texts()] == ["dx", "dy"]
    names = [t.get_text() for t in fractions.get_legend().get_texts()]
    assert names == ["attention accuracy (val)", "recognizer CER of written samples"]
    assert optimized.lines[0].get_xdata().tolist() == [5, 10, 15, 20]
    resume_lines = [line for line in optimized.lines if line.get_linestyle() == ":"]
    assert [line.get_xdata()[0] for line in resume_lines] == [10]


def test_a_recognizer_run_has_no_head_or_fraction_panel_it_did_not_log():
    records = [
        {"kind": "train", "step": 10, "loss": 3.0, "lr": 1e-3},
        {"kind": "val", "step": 10, "val_cer": 0.4, "val_loss": 2.5},
    ]
    labels = [ax.get_ylabel() for ax in curves_figure(records).axes]
    assert labels == ["loss optimized", "loss (validation measure)", "learning rate", ""]


def test_a_torn_last_line_is_skipped(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    lines = [json.dumps(r) for r in handwriting_records()]
    metrics.write_text("\n".join(lines) + '\n{"kind": "train", "st')
    assert len(read_metrics(metrics)) == len(lines)
    out = plot_run_curves(metrics, tmp_path / CURVES_FILE, "run: training curves")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
