"""The board a pen writes on: its size and pose, the layout of handwriting on it, and the motion limits.

Board frame: origin at the centre of the writing surface, u to the writer's right, v up, n out of the board
towards the arm. Shared by the PyBullet whiteboard, the ROS 2 writer node and trajtok.waypoints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass
class BoardConfig:
    """A vertical board facing the arm, and how handwriting is laid out and timed on it.

    Board frame: origin at the centre of the writing surface (`center_m`, world), u to the writer's right,
    v up, n out of the board towards the arm. `yaw_deg=0` faces -x: an arm at the origin looking along +x
    sees the board head-on.
    """

    width_m: float = 0.8
    height_m: float = 0.44
    center_m: tuple[float, float, float] = (0.5, 0.0, 0.5)
    yaw_deg: float = 0.0
    margin_m: float = 0.03
    letter_height_m: float = 0.04  # metres per handwriting unit (x-height ~ 1 unit)
    start_uv_m: tuple[float, float] | None = None  # first baseline's start (u, v); None = top-left
    # start=None: room kept inside the margins, in handwriting units, above the first baseline (the tallest
    # letters of the synthetic writers, 99th percentile: 2.3-2.5 print, 3.3-3.5 script; 2.2 cut off 2 of 40
    # phrases of the shipped model) and left of where the first word starts (the print writers and the
    # shipped model reach 0.25 back; the script writers' j, f and p loop back 0.75-0.87 units, 99.5th
    # percentile, at most 1.05 in 2,400 first words; fit="scale" makes room for more). Wrapped lines start
    # at the same left edge.
    ascender: float = 3.5
    lead: float = 1.0
    line_spacing: float = 3.2  # baseline to baseline, handwriting units
    wrap: bool = True
    word_gap: float = 0.8  # units of blank column between words (after a word, the next strokes start right)
    pen_up_clearance_m: float = 0.01  # pen-up travel this far off the surface, along the normal
    approach_m: float = 0.05  # first descent starts / final retract ends this far off the surface
    write_speed_mps: float = 0.05  # pen-down strokes, and the lifts and descents along the normal
    travel_speed_mps: float = 0.15  # lifted travel between strokes
    max_speed_mps: float = 0.25  # velocity limit: speeds above it are refused
    max_accel_mps2: float = 2.0
    control_rate_hz: float = 100.0  # waypoints are resampled at this rate
    dot_dwell_s: float = 0.1  # a stroke of zero length (a dot) holds the pen down this long
    reach_center_m: tuple[float, float, float] = (0.0, 0.0, 0.333)  # the arm's shoulder, world
    reach_max_m: float = 0.78  # waypoints farther than this from the shoulder are out of reach
    fit: Literal["error", "scale"] = "error"
    smooth: bool = (
        True  # pen-down strokes follow the Catmull-Rom curve through their points (False: polyline)
    )

    def __post_init__(self) -> None:
        positive = [
            "width_m",
            "height_m",
            "letter_height_m",
            "line_spacing",
            "pen_up_clearance_m",
            "approach_m",
            "write_speed_mps",
            "travel_speed_mps",
            "max_speed_mps",
            "max_accel_mps2",
            "control_rate_hz",
            "reach_max_m",
        ]
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"board config: {name} must be > 0, got {getattr(self, name)}")
        for name in ("write_speed_mps", "travel_speed_mps"):
            if getattr(self, name) > self.max_speed_mps:
                raise ValueError(
                    f"board config: {name}={getattr(self, name)} exceeds max_speed_mps={self.max_speed_mps}; "
                    "lower it or raise the limit"
                )
        for name in ("ascender", "lead"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"board config: {name} must be >= 0, got {getattr(self, name)}")
        if self.margin_m < 0 or 2 * self.margin_m >= min(self.width_m, self.height_m):
            raise ValueError(f"board config: margin_m={self.margin_m} leaves no writable area")
        if self.approach_m < self.pen_up_clearance_m:
            raise ValueError("board config: approach_m must be >= pen_up_clearance_m")
        if self.fit not in ("error", "scale"):
            raise ValueError(f"board config: fit must be 'error' or 'scale', got {self.fit!r}")

    def axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """World vectors (origin, u, v, n) of the board frame, each (3,)."""
        yaw = math.radians(self.yaw_deg)
        u = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
        v = np.array([0.0, 0.0, 1.0])
        n = np.array([-math.cos(yaw), -math.sin(yaw), 0.0])
        return np.asarray(self.center_m, dtype=float), u, v, n

    def writable_uv_m(self) -> tuple[float, float, float, float]:
        """(u_min, u_max, v_min, v_max) of the board minus its margins."""
        half_w, half_h = self.width_m / 2 - self.margin_m, self.height_m / 2 - self.margin_m
        return -half_w, half_w, -half_h, half_h

    def first_baseline_uv_m(
        self, letter_height_m: float, ascender: float | None = None, lead: float | None = None
    ) -> tuple[float, float]:
        """Where the first baseline starts: `start_uv_m`, else the top-left corner of the writable area less
        `ascender` and `lead` (handwriting units; None: the board's own)."""
        if self.start_uv_m is not None:
            return float(self.start_uv_m[0]), float(self.start_uv_m[1])
        ascender = self.ascender if ascender is None else ascender
        lead = self.lead if lead is None else lead
        u_min, _, _, v_max = self.writable_uv_m()
        return u_min + lead * letter_height_m, v_max - ascender * letter_height_m

    def to_world(self, uvn_m: np.ndarray) -> np.ndarray:
        """(N, 3) board coordinates [u, v, n] (m) -> (N, 3) world positions."""
        origin, u, v, n = self.axes()
        return origin + uvn_m[:, :1] * u + uvn_m[:, 1:2] * v + uvn_m[:, 2:3] * n

    def to_board(self, xyz_m: np.ndarray) -> np.ndarray:
        """(N, 3) world positions -> (N, 3) board coordinates [u, v, n] (n > 0: off the surface)."""
        origin, u, v, n = self.axes()
        rel = np.asarray(xyz_m, dtype=float) - origin
        return np.stack([rel @ u, rel @ v, rel @ n], axis=-1)
