"""Strokes planned on a board -> files for pen plotters: G-code (GRBL gantries) and single-line SVG (AxiDraw).

The page is the board (`BoardConfig`: width x height, the same layout, wrapping and letter height as the
robot), in millimetres with the origin at its bottom-left corner for G-code (y up, as machines count) and
top-left for SVG (y down, as SVG counts). Each pen-down run of the plan is one stroke: one `<path>` in the
SVG, one pen-down ... pen-up block in the G-code. Feed rates come from the board's speed limits: pen-down
moves at `write_speed_mps`, lifted travel at `travel_speed_mps` (both capped by `max_speed_mps`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from trajtok.board import BoardConfig
from trajtok.motion_profile import Waypoints
from trajtok.strokes import pen_down_runs
from trajtok.waypoints import plan_waypoints

MM_PER_M = 1000.0
SVG_STROKE_MM = 0.5  # drawn line width in the SVG preview; plotters draw with their pen's width


@dataclass
class PlotterConfig:
    """How the pen goes up and down: a spindle/servo pair of commands (`pen="m3"`, GRBL servo plotters) or
    a Z axis (`pen="z"`, gantries with a pen on Z)."""

    board: BoardConfig = field(default_factory=BoardConfig)
    pen: Literal["m3", "z"] = "m3"
    pen_down_command: str = "M3 S1000"
    pen_up_command: str = "M5"
    pen_dwell_s: float = 0.15  # after each pen-up/down command, for the servo to get there (G4)
    z_up_mm: float = 5.0
    z_down_mm: float = 0.0
    decimals: int = 3

    def __post_init__(self) -> None:
        if self.pen not in ("m3", "z"):
            raise ValueError(f"plotter config: pen must be 'm3' or 'z', got {self.pen!r}")
        if self.pen == "z" and not self.z_up_mm > self.z_down_mm:
            raise ValueError("plotter config: z_up_mm must be above z_down_mm")
        if self.pen_dwell_s < 0:
            raise ValueError(f"plotter config: pen_dwell_s must be >= 0, got {self.pen_dwell_s}")


def page_strokes_mm(
    points: np.ndarray, board: BoardConfig, words: np.ndarray | None = None
) -> list[np.ndarray]:
    """(T, 3) handwriting points [x, y, pen_lift] -> the plan's pen-down strokes, (K_i, 2) page mm (y up).
    `words`: the word of each point, where known (`plan_waypoints`).

    Raises ValueError where the board plan would (text off the page, fit="error")."""
    return waypoint_strokes_mm(plan_waypoints(points, board, resample=False, words=words), board)


def waypoint_strokes_mm(waypoints: Waypoints, board: BoardConfig) -> list[np.ndarray]:
    """Timed board waypoints -> their pen-down runs as (K_i, 2) page mm from the bottom-left corner."""
    uv = board.to_board(waypoints.xyz_m)[:, :2]
    page = (uv + [board.width_m / 2, board.height_m / 2]) * MM_PER_M
    return [run for run in pen_down_runs(page, waypoints.pen_down) if len(run)]


def to_gcode(strokes_mm: list[np.ndarray], config: PlotterConfig) -> str:
    """G-code: G21 (mm), G90 (absolute); per stroke a lifted move to its start, pen down, G1 along it, pen up.

    Every move is a G1 with a feed (no G0 rapids), so the plotter never goes faster than the speed limits."""
    board = config.board
    write_feed = board.write_speed_mps * MM_PER_M * 60  # mm/min
    travel_feed = board.travel_speed_mps * MM_PER_M * 60
    d = config.decimals

    def xy(p) -> str:
        return f"X{p[0]:.{d}f} Y{p[1]:.{d}f}"

    def pen(down: bool) -> list[str]:
        if config.pen == "z":
            z = config.z_down_mm if down else config.z_up_mm
            return [f"G1 Z{z:.{d}f} F{write_feed:.0f}"]
        dwell = [f"G4 P{config.pen_dwell_s:.3f}"] if config.pen_dwell_s else []
        return [config.pen_down_command if down else config.pen_up_command, *dwell]

    width, height = board.width_m * MM_PER_M, board.height_m * MM_PER_M
    lines = [
        f"; trajtok plot: {len(strokes_mm)} strokes on a {width:.0f} x {height:.0f} mm page",
        f"; feeds: writing F{write_feed:.0f}, travel F{travel_feed:.0f} mm/min",
        "G21 ; millimetres",
        "G90 ; absolute coordinates",
        *pen(False),
    ]
    for stroke in strokes_mm:
        lines.append(f"G1 {xy(stroke[0])} F{travel_feed:.0f}")
        lines += pen(True)
        lines += [f"G1 {xy(p)} F{write_feed:.0f}" for p in stroke[1:]] or [f"G1 {xy(stroke[0])}"]
        lines += pen(False)
    lines.append(f"G1 X0 Y0 F{travel_feed:.0f} ; home")
    return "\n".join(lines) + "\n"


_WORD = re.compile(r"([A-Z])(-?\d+(?:\.\d*)?)")


def parse_gcode(text: str, config: PlotterConfig) -> list[np.ndarray]:
    """G-code as `to_gcode` writes it (absolute mm) -> the (K_i, 2) strokes drawn with the pen down.

    Only what a plotter would draw counts: moves while the pen is down, with the pen state from the
    configured commands (or Z at or below `z_down_mm`)."""
    strokes: list[np.ndarray] = []
    current: list[tuple[float, float]] = []
    down = False
    x = y = 0.0
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip().upper()
        if not line:
            continue
        if config.pen == "m3" and line in (config.pen_down_command.upper(), config.pen_up_command.upper()):
            now_down = line == config.pen_down_command.upper()
        else:
            words = dict(_WORD.findall(line))
            if words.get("G") not in ("0", "1", "00", "01"):
                continue
            x, y = float(words.get("X", x)), float(words.get("Y", y))
            now_down = down
            if config.pen == "z" and "Z" in words:
                now_down = float(words["Z"]) <= config.z_down_mm + 1e-9
            if down and now_down:
                current.append((x, y))
        if now_down and not down:
            current = [(x, y)]
        elif down and not now_down:
            strokes.append(np.array(current))
        down = now_down
    return strokes


def to_svg(strokes_mm: list[np.ndarray], board: BoardConfig) -> str:
    """Plotter-ready SVG: page size in mm, one `<path>` per stroke, stroke only (no fills), y down."""
    width, height = board.width_m * MM_PER_M, board.height_m * MM_PER_M
    paths = []
    for stroke in strokes_mm:
        pts = np.column_stack([stroke[:, 0], height - stroke[:, 1]])
        if len(pts) == 1:  # a dot: a zero-length line, which round caps draw as a dot
            pts = np.vstack([pts, pts])
        d = "M" + " L".join(f"{px:.3f},{py:.3f}" for px, py in pts)
        paths.append(f'  <path d="{d}"/>')
    return (
        "\n".join(
            [
                '<?xml version="1.0" encoding="UTF-8"?>',
                f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}mm" height="{height:g}mm" '
                f'viewBox="0 0 {width:g} {height:g}">',
                f'<g fill="none" stroke="black" stroke-width="{SVG_STROKE_MM}" stroke-linecap="round" '
                'stroke-linejoin="round">',
                *paths,
                "</g>",
                "</svg>",
            ]
        )
        + "\n"
    )


def export(points: np.ndarray, config: PlotterConfig, gcode: str | Path | None = None,
           svg: str | Path | None = None, words: np.ndarray | None = None) -> list[Path]:  # fmt: skip
    """Plan `points` (T, 3) (with their `words`, where known) on the page and write the G-code and/or SVG
    asked for; the files written."""
    strokes = page_strokes_mm(points, config.board, words)
    written = []
    for path, make in (
        (gcode, lambda: to_gcode(strokes, config)),
        (svg, lambda: to_svg(strokes, config.board)),
    ):
        if path is not None:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(make())
            written.append(path)
    return written
