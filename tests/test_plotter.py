"""Pen-plotter exports: G-code read back gives the planned strokes; single-line SVG in mm; the CLIs."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from trajtok.board import BoardConfig
from trajtok.cli import main
from trajtok.cli.sim import load_strokes
from trajtok.data.hershey import synthesize
from trajtok.page_lines import LINE_SPACING
from trajtok.plotter import (
    PlotterConfig,
    page_strokes_mm,
    parse_gcode,
    to_gcode,
    to_svg,
    waypoint_strokes_mm,
)
from trajtok.strokes import integrate
from trajtok.waypoints import plan_waypoints

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def points():
    sample = synthesize("hi there", style_id=0, seed=0)
    return integrate(sample.deltas, sample.events[:, 0]).astype(float)


def distance_to_polyline(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """(N, 2) points -> (N,) distance to the polyline (K, 2)."""
    if len(line) == 1:
        return np.linalg.norm(points - line[0], axis=1)
    a, b = line[:-1], line[1:]
    ab = b - a
    t = np.clip(((points[:, None] - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-18), 0, 1)
    nearest = a + t[..., None] * ab
    return np.linalg.norm(points[:, None] - nearest, axis=-1).min(axis=1)


def assert_same_strokes(drawn: list[np.ndarray], planned: list[np.ndarray], tol_mm: float) -> None:
    assert len(drawn) == len(planned)
    for got, want in zip(drawn, planned, strict=True):
        np.testing.assert_allclose(got[[0, -1]], want[[0, -1]], atol=tol_mm)
        assert distance_to_polyline(want, got).max() <= tol_mm  # every planned point is on the drawn line
        assert distance_to_polyline(got, want).max() <= tol_mm  # and nothing is drawn off the planned one


@pytest.mark.parametrize("pen", ["m3", "z"])
def test_gcode_read_back_is_the_robots_plan_within_a_tenth_of_a_millimetre(points, pen):
    config = PlotterConfig(pen=pen)
    board = config.board
    gcode = to_gcode(page_strokes_mm(points, board), config)
    lines = gcode.splitlines()
    assert "G21 ; millimetres" in lines and "G90 ; absolute coordinates" in lines
    assert lines.index("G21 ; millimetres") < next(i for i, line in enumerate(lines) if line.startswith("G1"))
    if pen == "m3":
        assert "M3 S1000" in lines and "M5" in lines
    else:
        assert not any(line.startswith(("M3", "M5")) for line in lines) and "G1 Z5.000 F3000" in lines

    # What the robot does (the resampled timed plan) is what the plotter draws.
    plan = plan_waypoints(points, board)
    planned = waypoint_strokes_mm(plan, board)
    assert len(planned) > 5
    assert_same_strokes(parse_gcode(gcode, config), planned, tol_mm=0.1)

    # Feeds come from the speed limits: writing at write_speed, travel at travel_speed (mm/min).
    feeds = {float(f) for f in re.findall(r"F(\d+(?:\.\d+)?)", gcode)}
    assert feeds == {board.write_speed_mps * 60_000, board.travel_speed_mps * 60_000}
    assert max(feeds) <= board.max_speed_mps * 60_000


def test_configured_pen_commands_and_a_page_off_the_plan_are_refused(points):
    config = PlotterConfig(pen_down_command="M3 S90", pen_up_command="M3 S30", pen_dwell_s=0.0)
    gcode = to_gcode(page_strokes_mm(points, config.board), config)
    assert "M3 S90" in gcode and "M3 S30" in gcode and "G4" not in gcode
    assert len(parse_gcode(gcode, config)) == len(page_strokes_mm(points, config.board))
    with pytest.raises(ValueError, match="pen must be"):
        PlotterConfig(pen="laser")
    small = dataclasses.replace(BoardConfig(), width_m=0.2)  # "hi there" does not fit: the robot's error
    with pytest.raises(ValueError):
        page_strokes_mm(points, small)


def test_svg_is_single_line_one_path_per_stroke_with_the_page_in_mm(points):
    board = BoardConfig()
    strokes = page_strokes_mm(points, board)
    root = ET.fromstring(to_svg(strokes, board))
    assert root.get("width") == "800mm" and root.get("height") == "440mm"
    assert root.get("viewBox") == "0 0 800 440"
    paths = list(root.iter(f"{SVG}path"))
    assert len(paths) == len(strokes)
    assert all(el.get("fill") in (None, "none") for el in root.iter())
    assert root.find(f"{SVG}g").get("fill") == "none"
    for path, stroke in zip(paths, strokes, strict=True):
        assert path.get("d").count("M") == 1  # one continuous line
        pairs = re.findall(r"[-\d.]+,[-\d.]+", path.get("d"))
        xy = np.array([[float(v) for v in pair.split(",")] for pair in pairs])
        np.testing.assert_allclose(xy[:, 0], stroke[:, 0], atol=1e-3)
        np.testing.assert_allclose(xy[:, 1], 440 - stroke[:, 1], atol=1e-3)  # SVG y runs down


def test_trajtok_write_and_sim_write_export_the_same_page(overfit_checkpoint, tmp_path, capsys):
    out = tmp_path / "page.png"
    argv = ["write", "hi", "--checkpoint", str(overfit_checkpoint), "--temperature", "0", "--out", str(out)]
    assert main([*argv, "--gcode", str(tmp_path / "w.gcode"), "--plot-svg", str(tmp_path / "w.svg")]) == 0
    assert "w.gcode" in capsys.readouterr().out
    config = PlotterConfig()
    written = parse_gcode((tmp_path / "w.gcode").read_text(), config)
    assert len(written) >= 2 and len(list(ET.parse(tmp_path / "w.svg").getroot().iter(f"{SVG}path"))) == len(
        written
    )

    plotter_yaml = tmp_path / "plotter.yaml"
    plotter_yaml.write_text("pen: z\nz_up_mm: 3.0\n")
    code = main([
        "sim", "write", "--strokes", str(out.with_suffix(".npz")), "--out", str(tmp_path / "board.png"),
        "--gcode", str(tmp_path / "s.gcode"), "--plotter", str(plotter_yaml),
    ])  # fmt: skip
    assert code == 0
    from_sim = parse_gcode((tmp_path / "s.gcode").read_text(), PlotterConfig(pen="z", z_up_mm=3.0))
    assert "G1 Z3.000" in (tmp_path / "s.gcode").read_text()
    assert_same_strokes(from_sim, written, tol_mm=1e-3)  # same strokes, same board: the same page


def test_a_page_of_several_lines_goes_to_the_plotter_and_the_board_as_one_line_for_them_to_wrap(
    tmp_path, capsys, one_torch_thread
):
    """Stacked as on the page, the second line's ink went on top of the board's second line (and off
    the board): `write "the quick brown fox jumps" --gcode` was refused. Now the lines go end to end, with
    the words the model declared, and `sim write --strokes` reads the page back the same way."""
    out = tmp_path / "page.png"
    argv = ["write", "the quick brown fox jumps", "--temperature", "0", "--out", str(out)]
    assert main([*argv, "--gcode", str(tmp_path / "w.gcode")]) == 0
    assert "2 lines of at most" in capsys.readouterr().out
    written = parse_gcode((tmp_path / "w.gcode").read_text(), PlotterConfig())
    points, words, text = load_strokes(str(out.with_suffix(".npz")))
    assert text == "the quick brown fox jumps" and set(words.tolist()) == set(range(5))
    assert np.ptp(points[:, 1]) < LINE_SPACING  # one line
    assert_same_strokes(written, page_strokes_mm(points, PlotterConfig().board, words), tol_mm=1e-3)
    with np.load(out.with_suffix(".npz")) as page:  # the page itself is unchanged: two stacked lines
        assert page["points"][:, 1].min() < -LINE_SPACING + 1


def test_a_bad_plotter_file_is_one_clean_error(points, tmp_path, capsys):
    strokes = tmp_path / "hi.npz"
    np.savez(strokes, points=points)
    bad = tmp_path / "plotter.yaml"
    bad.write_text("pen: laser\n")
    with pytest.raises(SystemExit) as exc:
        main(["sim", "write", "--strokes", str(strokes), "--out", str(tmp_path / "b.png"), "--gcode",
              str(tmp_path / "x.gcode"), "--plotter", str(bad)])  # fmt: skip
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "plotter.yaml" in err[0] and "laser" in err[0]
    assert not (tmp_path / "x.gcode").exists()


def test_the_shipped_z_gantry_config_moves_the_pen_on_z():
    from pathlib import Path

    from trajtok.config import load_config

    config = load_config(PlotterConfig, Path(__file__).parents[1] / "configs" / "plotter-z.yaml")
    assert dataclasses.replace(config, pen="m3", z_up_mm=5.0) == PlotterConfig()  # only the pen differs
    sample = synthesize("hi", style_id=0, seed=0)
    gcode = to_gcode(page_strokes_mm(integrate(sample.deltas, sample.events[:, 0]), config.board), config)
    assert "G1 Z3.000" in gcode and "M3" not in gcode
