"""The board as a picture: ink segments painted (anti-aliased round pen) into a grey image of the board."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.image import imsave

from trajtok.board import BoardConfig


class BoardCanvas:
    """A (H, W) uint8 image of the whole board, 255 = clean; pixel (0, 0) is top-left seen from the arm."""

    def __init__(self, board: BoardConfig, px_per_m: float, pen_width_m: float):
        self.board = board
        self.px_per_m = px_per_m
        self.radius_px = max(pen_width_m * px_per_m / 2, 0.5)
        shape = (round(board.height_m * px_per_m), round(board.width_m * px_per_m))
        self._coverage = np.zeros(shape, dtype=np.float32)  # 0 clean .. 1 fully inked

    @property
    def image(self) -> np.ndarray:
        return np.round(255 * (1 - self._coverage)).astype(np.uint8)

    def to_pixels(self, uv_m: np.ndarray) -> np.ndarray:
        """(N, 2) board [u, v] metres -> (N, 2) pixel [col, row] (floats)."""
        uv_m = np.asarray(uv_m, dtype=float).reshape(-1, 2)
        col = (uv_m[:, 0] + self.board.width_m / 2) * self.px_per_m
        row = (self.board.height_m / 2 - uv_m[:, 1]) * self.px_per_m
        return np.stack([col, row], axis=1)

    def paint(self, start_uv_m: np.ndarray, end_uv_m: np.ndarray) -> None:
        """Ink a straight segment between two board points (equal points paint a dot)."""
        (c0, r0), (c1, r1) = self.to_pixels(np.array([start_uv_m, end_uv_m]))
        reach = self.radius_px + 1
        rows, cols = self._coverage.shape
        top, bottom = max(int(min(r0, r1) - reach), 0), min(int(max(r0, r1) + reach) + 1, rows)
        left, right = max(int(min(c0, c1) - reach), 0), min(int(max(c0, c1) + reach) + 1, cols)
        if top >= bottom or left >= right:
            return
        rr, cc = np.mgrid[top:bottom, left:right]
        dist = _distance_to_segment(cc + 0.5, rr + 0.5, c0, r0, c1, r1)
        cover = np.clip(self.radius_px + 0.5 - dist, 0.0, 1.0)
        window = self._coverage[top:bottom, left:right]
        np.maximum(window, cover, out=window)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        imsave(path, self.image, cmap="gray", vmin=0, vmax=255)
        return path


def _distance_to_segment(
    x: np.ndarray, y: np.ndarray, x0: float, y0: float, x1: float, y1: float
) -> np.ndarray:
    dx, dy = x1 - x0, y1 - y0
    length_sq = dx * dx + dy * dy
    t = np.zeros_like(x) if length_sq == 0 else np.clip(((x - x0) * dx + (y - y0) * dy) / length_sq, 0, 1)
    return np.hypot(x - (x0 + t * dx), y - (y0 + t * dy))
