"""A phrase's strokes written by the Panda on the whiteboard (DIRECT mode) and read back by Tesseract: the
job trajtok studio's "Send to the robot" runs (`trajtok sim write --strokes` adds frames, the GUI, files)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from trajtok.errors import TrajtokError
from trajtok.waypoints import plan_waypoints
from trajtok_sim.ocr import character_error_rate, read_board
from trajtok_sim.whiteboard import WhiteboardConfig, WhiteboardSim


def write_phrase(
    points: np.ndarray, text: str, progress: Callable[[float, float], None] | None = None
) -> tuple[dict, np.ndarray]:
    """Points (T, 3) [x, y, pen_lift] in handwriting units -> (metrics, board image (H, W) uint8, 255 =
    clean). The metrics are `trajtok sim write`'s (tracking, ink, real-time factor), with `ocr_text` and
    `ocr_cer` when Tesseract is installed, else `ocr_note` saying why not."""
    config = WhiteboardConfig()
    waypoints = plan_waypoints(points, config.board)
    with WhiteboardSim(config) as sim:
        result = sim.execute(waypoints, progress=progress)
    metrics = dict(result.metrics)
    try:
        ocr_text = read_board(result.board_image, config.board.letter_height_m * config.image_px_per_m)
        metrics.update(ocr_text=ocr_text, ocr_cer=character_error_rate(text, ocr_text))
    except TrajtokError as exc:  # no Tesseract: the picture and the tracking figures still count
        metrics["ocr_note"] = f"OCR skipped ({exc})"
    return metrics, result.board_image
