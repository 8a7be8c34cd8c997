"""Plotter-export options of `trajtok write` and `trajtok sim write`: --gcode, --plot-svg, --plotter."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from trajtok.board import BoardConfig
from trajtok.cli.output_files import output_file


def add_arguments(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group(
        "pen-plotter exports", "the strokes laid out on the board as a page, in mm (see trajtok.plotter)"
    )
    group.add_argument(
        "--gcode", type=output_file, metavar="FILE", help="write G-code (G21/G90, pen up/down, feeds) here"
    )
    group.add_argument(
        "--plot-svg", type=output_file, metavar="FILE", help="write a plotter-ready single-line SVG here"
    )
    group.add_argument(
        "--plotter", metavar="YAML", help="plotter settings (pen: m3 | z, pen_down_command, z_up_mm, ...)"
    )


def export(
    args: argparse.Namespace,
    points: np.ndarray,
    board: BoardConfig | None = None,
    words: np.ndarray | None = None,
) -> list[Path]:
    """Write the exports asked for; `board` (the robot's, for `sim write`) replaces the plotter file's;
    `words`: the word of each point, where known (trajtok.waypoints.plan_waypoints)."""
    if not (args.gcode or args.plot_svg):
        return []
    from trajtok.config import load_config
    from trajtok.plotter import PlotterConfig
    from trajtok.plotter import export as export_files

    config = load_config(PlotterConfig, args.plotter)
    if board is not None:
        config = dataclasses.replace(config, board=board)
    return export_files(points, config, gcode=args.gcode, svg=args.plot_svg, words=words)
