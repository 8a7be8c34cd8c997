"""Lifting the pen off the board from wherever a stream stopped (a canceled request)."""

from __future__ import annotations

import numpy as np

from trajtok.board import BoardConfig
from trajtok.motion_profile import MoveTimer, Waypoints


def lift_off(board: BoardConfig, xyz_m: np.ndarray) -> Waypoints:
    """A retract from world point `xyz_m` (3,), taken as at rest (a stream stopped at once), straight along
    the board normal to `approach_m` off the surface at the lifted travel speed; t_s from 0 at `xyz_m`.
    What a cancel sends after the last waypoint out, so the pen never stays on the board."""
    origin, _, _, n = board.axes()
    start = np.asarray(xyz_m, dtype=float)
    height = float((start - origin) @ n)
    end = start + max(board.approach_m - height, 0.0) * n
    timer = MoveTimer(board)
    lift = timer.move(np.vstack([start, end]), False, board.travel_speed_mps)
    return Waypoints.concatenate([lift, timer.stop()])
