"""How well the arm wrote: tracking error, ink along the pen-down path, ink where the pen should be up."""

from __future__ import annotations

import numpy as np

from trajtok.board import BoardConfig


def writing_metrics(
    commanded_xyz_m: np.ndarray,
    tracked_xyz_m: np.ndarray,
    pen_down: np.ndarray,
    inking: np.ndarray,
    board: BoardConfig,
) -> dict[str, float]:
    """Figures over a run sampled at every physics step (M steps).

    commanded/tracked (M, 3) world tip positions, pen_down (M,) commanded, inking (M,) the tip was touching.
    A step (j-1 -> j) counts as pen-down (or inked) when both of its ends are. Lengths are in the board plane.
    - tracking_rmse_mm / tracking_max_mm: tip vs commanded position at the same instant, pen-down steps.
    - inked_fraction: share of the commanded pen-down path length written while the tip was inking.
    - spurious_ink_fraction: share of all inked tip travel that happened where the pen should be up.
    """
    pen_down = np.asarray(pen_down, dtype=bool)
    inking = np.asarray(inking, dtype=bool)
    down_step = pen_down[1:] & pen_down[:-1]
    ink_step = inking[1:] & inking[:-1]
    commanded_len = _in_plane_steps(commanded_xyz_m, board)
    tracked_len = _in_plane_steps(tracked_xyz_m, board)
    error_m = np.linalg.norm(tracked_xyz_m - commanded_xyz_m, axis=1)[pen_down]
    pen_down_len = float(commanded_len[down_step].sum())
    inked_len = float(tracked_len[ink_step].sum())
    spurious_len = float(tracked_len[ink_step & ~down_step].sum())
    return {
        "tracking_rmse_mm": float(np.sqrt(np.mean(error_m**2)) * 1000) if len(error_m) else 0.0,
        "tracking_max_mm": float(error_m.max() * 1000) if len(error_m) else 0.0,
        "pen_down_length_m": pen_down_len,
        "inked_length_m": inked_len,
        "spurious_length_m": spurious_len,
        "inked_fraction": float(commanded_len[down_step & ink_step].sum() / pen_down_len)
        if pen_down_len
        else 1.0,
        "spurious_ink_fraction": spurious_len / inked_len if inked_len else 0.0,
    }


def _in_plane_steps(xyz_m: np.ndarray, board: BoardConfig) -> np.ndarray:
    """(M-1,) length of each step projected on the board plane."""
    uv = board.to_board(xyz_m)[:, :2]
    return np.linalg.norm(np.diff(uv, axis=0), axis=1)
