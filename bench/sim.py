"""The whiteboard sim: how well a simulated Panda writes fixed phrases, and how fast (PyBullet DIRECT).

Usage: .venv/bin/python bench/sim.py [--checkpoint RUN] [--out DIR] [--phrases "a" "b" ...]

Ground-truth strokes come from the synthetic Hershey corpus (writer style 0, seed 0); model strokes from
--checkpoint or the shipped model when one loads (else skipped, said so). Per phrase: tracking RMSE of the
pen tip against the commanded pen-down path (5 cm/s writing), ink coverage of the pen-down path, ink where the
pen should be up, the realtime factor, and Tesseract's character error rate reading the board back.

Baselines measured in the same run:
- ocr_cer_ideal: Tesseract on the commanded strokes painted straight onto a board image (no robot), so the
  robot's share of the reading errors is ocr_cer - ocr_cer_ideal;
- physics_realtime_factor: the same scene stepped with the motors holding still (no IK, ink or logging),
  the ceiling for realtime_factor;
- the polyline: the same strokes written with `board.smooth=False` (straight segments between the points, as
  before smoothing), for smoothness (`turning_deg_per_mm`: RMS turning per mm of the commanded pen-down
  path, trajtok.strokes.turning_deg_per_mm; lower is smoother) and board OCR side by side.
Last line: JSON with tracking_rmse_mm, inked_fraction, spurious_ink_fraction, realtime_factor, ocr_cer
(pooled over the ground-truth phrases), turning_deg_per_mm / turning_deg_per_mm_polyline (the model's
strokes, else the ground truth's), and the model_* (and model_polyline_*) figures when a model ran (model
strokes that do not fit the board are refused, reported and counted in model_refused).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np

from trajtok.data.hershey import synthesize
from trajtok.strokes import integrate, turning_deg_per_mm
from trajtok.waypoints import plan_waypoints
from trajtok_sim.bullet import pybullet
from trajtok_sim.ink import BoardCanvas
from trajtok_sim.ocr import character_error_rate, read_board
from trajtok_sim.whiteboard import WhiteboardConfig, WhiteboardSim, save_result

PHRASES = (
    "hello world",
    "the quick brown fox",
    "robots can write",
    "trajectory tokens",
    "pen on a whiteboard",
)
STYLE, SEED = 0, 0


def ground_truth(text: str) -> np.ndarray:
    sample = synthesize(text, style_id=STYLE, seed=SEED)
    return integrate(sample.deltas, sample.events[:, 0])


def model_writer(checkpoint: str | None):
    """The model's strokes for a phrase, or None (with the reason) when no checkpoint loads."""
    try:
        from trajtok.generate import Sampling, Writer

        writer = Writer.from_checkpoint(checkpoint)
    except Exception as exc:  # noqa: BLE001 - any reason at all means: no model figures this run
        return None, f"{exc.__class__.__name__}: {exc}"

    def write(text: str) -> np.ndarray:
        sample = writer.write([text], Sampling(temperature=0.5, seed=SEED))[0]
        return integrate(sample.deltas, sample.events[:, 0])

    return write, ""


def ideal_cer(sim: WhiteboardSim, board, points: np.ndarray, text: str, x_height_px: float) -> float:
    """Tesseract on the commanded pen-down path painted directly (what a perfect robot would leave)."""
    cfg = sim.config
    waypoints = plan_waypoints(points, board, resample=False)
    canvas = BoardCanvas(board, cfg.image_px_per_m, cfg.pen_width_m)
    uv = board.to_board(waypoints.xyz_m)[:, :2]
    down = waypoints.pen_down
    for i in np.flatnonzero(down[:-1] & down[1:]):
        canvas.paint(uv[i], uv[i + 1])
    for i in np.flatnonzero(down & ~np.roll(down, 1) & ~np.roll(down, -1)):  # dots
        canvas.paint(uv[i], uv[i])
    return character_error_rate(text, read_board(canvas.image, x_height_px))


def physics_realtime_factor(sim: WhiteboardSim, seconds: float = 10.0) -> float:
    steps = int(seconds * sim.config.physics_hz)
    start = time.perf_counter()
    for _ in range(steps):
        pybullet.stepSimulation(physicsClientId=sim.client)
    return seconds / (time.perf_counter() - start)


def path_turning(board, points: np.ndarray) -> tuple[float, float]:
    """(summed squared turning, in (degrees per mm)^2 times mm of ink; mm of ink) of the commanded pen-down
    path, so phrases pool by ink length."""
    vertices = plan_waypoints(points, board, resample=False)
    uv_mm = board.to_board(vertices.xyz_m)[:, :2] * 1000.0
    runs = np.split(np.arange(len(uv_mm)), np.flatnonzero(np.diff(vertices.pen_down.astype(int))) + 1)
    strokes = [uv_mm[run] for run in runs if vertices.pen_down[run[0]] and len(run) > 1]
    ink_mm = sum(float(np.hypot(*np.diff(s, axis=0).T).sum()) for s in strokes)
    return turning_deg_per_mm(strokes, 1.0) ** 2 * ink_mm, ink_mm


def write_phrases(sim, board, phrases, strokes_for, out_dir: Path, tag: str) -> list[dict]:
    x_height_px = board.letter_height_m * sim.config.image_px_per_m
    rows = []
    for i, text in enumerate(phrases):
        points = strokes_for(text)
        try:
            waypoints = plan_waypoints(points, board)
        except ValueError as exc:  # e.g. a model's strokes that run off the board: say so, count it
            print(f"{tag:>5} {text!r:24} refused: {exc}", flush=True)
            continue
        result = sim.execute(waypoints)
        m = result.metrics
        m["ocr_text"] = read_board(result.board_image, x_height_px)
        m["ocr_cer"] = character_error_rate(text, m["ocr_text"])
        m["ocr_cer_ideal"] = ideal_cer(sim, board, points, text, x_height_px)
        m["turning_sq_ink"], m["turning_ink_mm"] = path_turning(board, points)
        save_result(result, out_dir / f"{tag}_{i}.png", board, title=f"{tag}: {text}")
        print(
            f"{tag:>5} {text!r:24} rmse {m['tracking_rmse_mm']:.3f} mm (max {m['tracking_max_mm']:.3f})  "
            f"inked {m['inked_fraction']:.4f}  spurious {m['spurious_ink_fraction']:.4f}  "
            f"RTF {m['realtime_factor']:5.1f}  sim {m['duration_s']:5.1f} s  "
            f"OCR {m['ocr_text']!r} CER {m['ocr_cer']:.3f} (ideal {m['ocr_cer_ideal']:.3f})  "
            f"turning {math.sqrt(m['turning_sq_ink'] / m['turning_ink_mm']):.2f} deg/mm",
            flush=True,
        )
        rows.append({"text": text, **m})
    return rows


def pooled(rows: list[dict], n_phrases: int) -> dict:
    """Figures over all phrases together (lengths, steps and characters added up, not averaged)."""
    pen_down = sum(r["pen_down_length_m"] for r in rows)
    inked = sum(r["inked_length_m"] for r in rows)
    sq = sum(r["tracking_rmse_mm"] ** 2 * r["pen_down_length_m"] for r in rows)  # weighted by pen-down length
    chars = sum(len(r["text"]) for r in rows)
    return {
        "tracking_rmse_mm": math.sqrt(sq / pen_down),
        "tracking_max_mm": max(r["tracking_max_mm"] for r in rows),
        "inked_fraction": sum(r["inked_fraction"] * r["pen_down_length_m"] for r in rows) / pen_down,
        "spurious_ink_fraction": sum(r["spurious_length_m"] for r in rows) / inked if inked else 0.0,
        "realtime_factor": sum(r["duration_s"] for r in rows) / sum(r["wall_s"] for r in rows),
        "ocr_cer": sum(r["ocr_cer"] * len(r["text"]) for r in rows) / chars,
        "ocr_cer_ideal": sum(r["ocr_cer_ideal"] * len(r["text"]) for r in rows) / chars,
        "max_tip_force_n": max(r["max_tip_force_n"] for r in rows),
        "turning_deg_per_mm": math.sqrt(
            sum(r["turning_sq_ink"] for r in rows) / sum(r["turning_ink_mm"] for r in rows)
        ),
        "refused": n_phrases - len(rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", help="model run dir or .pt (default: the shipped model, if any)")
    parser.add_argument(
        "--out", default="out/bench_sim", help="board pictures go here (default: %(default)s)"
    )
    parser.add_argument("--phrases", nargs="+", default=list(PHRASES))
    args = parser.parse_args()
    out_dir = Path(args.out)

    config = WhiteboardConfig()
    with WhiteboardSim(config) as sim:
        board = config.board
        print(
            f"board {board.width_m} x {board.height_m} m, letters {board.letter_height_m} m, writing "
            f"{board.write_speed_mps} m/s, physics {config.physics_hz:.0f} Hz, "
            f"control {board.control_rate_hz:.0f} Hz; boards in {out_dir}/"
        )
        polyline = dataclasses.replace(board, smooth=False)
        physics_rtf = physics_realtime_factor(sim)
        n = len(args.phrases)
        truth = pooled(write_phrases(sim, board, args.phrases, ground_truth, out_dir, "truth"), n)
        truth_polyline = pooled(
            write_phrases(sim, polyline, args.phrases, ground_truth, out_dir, "truth-p"), n
        )
        smooth_turning, polyline_turning = (
            truth.pop("turning_deg_per_mm"),
            truth_polyline.pop("turning_deg_per_mm"),
        )
        figures = {**truth, "physics_realtime_factor": physics_rtf}
        figures |= {f"polyline_{k}": v for k, v in truth_polyline.items()}
        figures |= {
            "truth_turning_deg_per_mm": smooth_turning,
            "truth_turning_deg_per_mm_polyline": polyline_turning,
        }
        write_model, why_not = model_writer(args.checkpoint)
        if write_model is None:
            print(f"model: skipped, no checkpoint loads ({why_not})")
        else:
            strokes = {text: write_model(text) for text in args.phrases}  # the same strokes both ways
            model = pooled(write_phrases(sim, board, args.phrases, strokes.get, out_dir, "model"), n)
            model_polyline = pooled(
                write_phrases(sim, polyline, args.phrases, strokes.get, out_dir, "model-p"), n
            )
            figures |= {f"model_{k}": v for k, v in model.items()}
            figures |= {f"model_polyline_{k}": v for k, v in model_polyline.items()}
            smooth_turning, polyline_turning = (
                model["turning_deg_per_mm"],
                model_polyline["turning_deg_per_mm"],
            )
        figures["turning_deg_per_mm"] = smooth_turning
        figures["turning_deg_per_mm_polyline"] = polyline_turning

    print(
        f"ground truth, pooled: tracking RMSE {truth['tracking_rmse_mm']:.3f} mm (target <= 1), inked "
        f"{truth['inked_fraction']:.4f} (>= 0.98), spurious {truth['spurious_ink_fraction']:.4f} (<= 0.01), "
        f"RTF {truth['realtime_factor']:.1f} (>= 10; {truth['realtime_factor'] / physics_rtf:.2f} of the "
        f"bare-physics {physics_rtf:.0f}x), OCR CER {truth['ocr_cer']:.3f} (<= 0.1; ideal strokes "
        f"{truth['ocr_cer_ideal']:.3f})"
    )
    print(
        f"smoothness of the {'model' if write_model else 'ground truth'} strokes: "
        f"{smooth_turning:.2f} deg/mm "
        f"smoothed vs {polyline_turning:.2f} as a polyline ({smooth_turning / polyline_turning:.2f}x)"
    )
    print(json.dumps({k: round(v, 5) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
