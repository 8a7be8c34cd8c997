"""Reading the board back with Tesseract OCR (the `tesseract` command), and the character error rate."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from matplotlib.image import imsave

from trajtok.errors import TrajtokError

INK_LEVEL = 128  # pixels darker than this are ink
PAD_PX = 20
TARGET_X_HEIGHT_PX = 30  # Tesseract reads best around this size; the crop is resampled to it


def read_board(image: np.ndarray, x_height_px: float | None = None) -> str:
    """Text Tesseract reads in a (H, W) uint8 board image (255 = clean); '' for a clean board.

    The ink is cropped with a margin and, given the x-height in pixels, scaled to about TARGET_X_HEIGHT_PX.
    Lines read top to bottom are joined with single spaces.
    """
    exe = shutil.which("tesseract")
    if exe is None:
        raise TrajtokError(
            "tesseract not found on PATH; install Tesseract OCR (apt-get install tesseract-ocr)"
        )
    rows, cols = np.nonzero(image < INK_LEVEL)
    if not len(rows):
        return ""
    crop = image[
        max(rows.min() - PAD_PX, 0) : rows.max() + PAD_PX + 1,
        max(cols.min() - PAD_PX, 0) : cols.max() + PAD_PX + 1,
    ]
    if x_height_px:
        crop = _resize(crop, TARGET_X_HEIGHT_PX / x_height_px)
    with tempfile.TemporaryDirectory(prefix="trajtok_ocr_") as tmp:
        path = Path(tmp) / "board.png"
        imsave(path, crop, cmap="gray", vmin=0, vmax=255)
        done = subprocess.run(  # --psm 6: one uniform block of text (one or more lines)
            [exe, str(path), "stdout", "--psm", "6", "-l", "eng"], capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        raise TrajtokError(f"tesseract failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    return " ".join(done.stdout.split())


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance / len(reference), after collapsing runs of whitespace."""
    reference, hypothesis = " ".join(reference.split()), " ".join(hypothesis.split())
    if not reference:
        return float(bool(hypothesis))
    previous = list(range(len(hypothesis) + 1))
    for i, ref_char in enumerate(reference, 1):
        current = [i]
        for j, hyp_char in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_char != hyp_char)))
        previous = current
    return previous[-1] / len(reference)


def _resize(image: np.ndarray, factor: float) -> np.ndarray:
    """Area-average down (or nearest up) by `factor`, for a grey uint8 image."""
    height, width = image.shape
    new_h, new_w = max(round(height * factor), 1), max(round(width * factor), 1)
    row_edges = np.linspace(0, height, new_h + 1).astype(int)
    col_edges = np.linspace(0, width, new_w + 1).astype(int)
    if factor >= 1:
        return image[np.minimum(row_edges[:-1], height - 1)][:, np.minimum(col_edges[:-1], width - 1)]
    sums = np.add.reduceat(
        np.add.reduceat(image.astype(np.float64), row_edges[:-1], axis=0), col_edges[:-1], axis=1
    )
    counts = np.outer(np.diff(row_edges), np.diff(col_edges))
    return np.round(sums / counts).astype(np.uint8)
