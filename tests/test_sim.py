"""The PyBullet whiteboard (DIRECT): IK reach, writing a word with ink where expected, metrics, OCR."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from trajtok.board import BoardConfig
from trajtok.cli import main
from trajtok.config import load_config
from trajtok.data.hershey import synthesize
from trajtok.errors import TrajtokError
from trajtok.motion_profile import Waypoints
from trajtok.strokes import integrate, join_strokes
from trajtok.waypoints import plan_waypoints
from trajtok_sim.ink import BoardCanvas
from trajtok_sim.metrics import writing_metrics
from trajtok_sim.ocr import character_error_rate, read_board
from trajtok_sim.whiteboard import WhiteboardConfig, WhiteboardSim, save_result

WORD = "pen up"
OCR_STYLE = 0  # the synthetic writer Tesseract reads most reliably (upright, print letters)


@pytest.fixture(scope="module")
def sim():
    with WhiteboardSim(WhiteboardConfig()) as sim:
        yield sim


@pytest.fixture(scope="module")
def written(sim):
    sample = synthesize(WORD, style_id=OCR_STYLE, seed=0)
    points = integrate(sample.deltas, sample.events[:, 0])
    waypoints = plan_waypoints(points, sim.board)
    return waypoints, sim.execute(waypoints)


def test_the_tip_reaches_sampled_board_points_within_a_millimetre(sim):
    """Dots at the corners, the centre and random points: the tip, moved by the motors, gets there."""
    board = sim.board
    u_min, u_max, v_min, v_max = board.writable_uv_m()
    corners = [[u_min, v_min], [u_min, v_max], [u_max, v_min], [u_max, v_max], [0.0, 0.0]]
    uv = np.vstack([corners, np.random.default_rng(0).uniform([u_min, v_min], [u_max, v_max], size=(5, 2))])
    metres = dataclasses.replace(
        board, letter_height_m=1.0, start_uv_m=(0.0, 0.0)
    )  # 1 unit = 1 m from centre
    waypoints = plan_waypoints(join_strokes([p[None] for p in uv]), metres)
    result = sim.execute(waypoints)
    targets = board.to_world(np.column_stack([uv, np.zeros(len(uv))]))
    dots = np.split(
        np.flatnonzero(result.pen_down), np.flatnonzero(np.diff(np.flatnonzero(result.pen_down)) > 1) + 1
    )
    assert len(dots) == len(uv)
    for dot, target in zip(dots, targets, strict=True):
        np.testing.assert_allclose(result.commanded_xyz_m[dot], target[None].repeat(len(dot), 0), atol=1e-12)
        assert np.linalg.norm(result.tracked_xyz_m[dot] - target, axis=1).max() < 1e-3
    assert result.inking[np.concatenate(dots)].all()


def test_the_posture_varies_smoothly_across_the_board(sim):
    """IK gives the solution nearest the rest pose: a raster over the board never jumps branches."""
    board = sim.board
    u_min, u_max, v_min, v_max = board.writable_uv_m()
    previous = None
    for v in np.linspace(v_max, v_min, 5):
        for u in np.linspace(u_min, u_max, 40):  # 2 cm apart
            q, error = sim.solve_ik(board.to_world(np.array([[u, v, 0.0]]))[0], seed=previous)
            assert error < 1e-5
            assert q[3] < -1.0  # the elbow stays bent the same way
            if previous is not None and u > u_min:
                assert np.abs(q - previous).max() < 0.2, (u, v)
            previous = q


def test_a_short_word_is_written_with_ink_only_where_the_pen_is_down(written, sim):
    waypoints, result = written
    m = result.metrics
    assert m["tracking_rmse_mm"] <= 1.0
    assert m["inked_fraction"] >= 0.98
    assert m["spurious_ink_fraction"] <= 0.01
    assert m["max_tip_force_n"] < 5.0  # the pen touches, it does not push
    board = sim.board
    canvas = BoardCanvas(board, sim.config.image_px_per_m, sim.config.pen_width_m)

    def is_inked(uv_m: np.ndarray) -> np.ndarray:
        col, row = np.floor(canvas.to_pixels(uv_m)).astype(int).T
        return result.board_image[row, col] < 128

    down_uv = board.to_board(waypoints.xyz_m[waypoints.pen_down])[:, :2]
    assert is_inked(down_uv).mean() >= 0.98
    # Midway along each pen-up travel, far from any stroke, the board is clean.
    up = ~waypoints.pen_down
    uvn = board.to_board(waypoints.xyz_m)
    travel_uv = uvn[up & (uvn[:, 2] > board.pen_up_clearance_m / 2), :2]
    far = np.linalg.norm(travel_uv[:, None] - down_uv[None], axis=2).min(axis=1) > 3 * sim.config.pen_width_m
    assert far.sum() > 10
    assert not is_inked(travel_uv[far]).any()
    # Nothing beyond the words' extent got ink.
    ink_rows, ink_cols = np.nonzero(result.board_image < 128)
    (c_min, r_max), (c_max, r_min) = canvas.to_pixels(
        [down_uv.min(axis=0) - sim.config.pen_width_m, down_uv.max(axis=0) + sim.config.pen_width_m]
    )
    assert ink_cols.min() >= c_min and ink_cols.max() <= c_max
    assert ink_rows.min() >= r_min and ink_rows.max() <= r_max


def test_the_tip_follows_the_commanded_path_in_time(written):
    _, result = written
    assert len(result.t_s) == len(result.tracked_xyz_m) == len(result.inking)
    assert np.all(np.diff(result.t_s) > 0)
    error = np.linalg.norm(result.tracked_xyz_m - result.commanded_xyz_m, axis=1)
    assert error.max() < 5e-3
    assert error[result.pen_down].max() < 1e-3
    assert result.inking[result.pen_down].mean() > 0.98


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract OCR is not installed")
def test_tesseract_reads_the_written_word(written, sim):
    _, result = written
    x_height_px = sim.board.letter_height_m * sim.config.image_px_per_m
    text = read_board(result.board_image, x_height_px)
    assert character_error_rate(WORD, text) <= 0.1, text


def test_outputs_are_saved(written, sim, tmp_path):
    _, result = written
    paths = save_result(result, tmp_path / "out" / "board.png", sim.board, title="pen")
    assert paths["board"].stat().st_size > 1000
    assert paths["tracking"].name == "board_tracking.png" and paths["tracking"].stat().st_size > 1000
    metrics = json.loads(paths["metrics"].read_text())
    assert metrics["inked_fraction"] == result.metrics["inked_fraction"]


def test_frames_are_saved_while_writing(sim, tmp_path):
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], dtype=float)
    waypoints = plan_waypoints(join_strokes([square]), sim.board)
    result = sim.execute(waypoints, frames_dir=tmp_path / "frames")
    frames = sorted((tmp_path / "frames").glob("frame_*.png"))
    assert len(frames) == int(np.ceil(result.metrics["duration_s"] / sim.config.frame_every_s - 1e-9))
    assert result.metrics["inked_fraction"] >= 0.98


def test_the_printed_config_loads_back_as_the_config(tmp_path, capsys):
    assert main(["sim", "write", "--print-config", "board.letter_height_m=0.05"]) == 0
    printed = tmp_path / "whiteboard.yaml"
    printed.write_text(capsys.readouterr().out)
    assert load_config(WhiteboardConfig, printed) == load_config(
        WhiteboardConfig, None, ["board.letter_height_m=0.05"]
    )


def test_gui_without_a_display_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(TrajtokError, match="needs a display"):
        WhiteboardSim(gui=True)


def test_execute_needs_waypoints(sim):
    with pytest.raises(ValueError, match="at least two"):
        sim.execute(Waypoints.empty())


def test_metrics_count_missing_and_spurious_ink():
    board = BoardConfig()
    t = np.linspace(0, 1, 101)
    xyz = board.to_world(np.column_stack([0.1 * t, np.zeros_like(t), np.zeros_like(t)]))  # 10 cm along u
    pen_down = t <= 0.5
    inking = np.ones_like(t, dtype=bool)
    inking[10:31] = False  # 2 cm of the 5 cm pen-down path left dry; 5 cm of ink where the pen is up
    m = writing_metrics(xyz, xyz, pen_down, inking, board)
    assert m["tracking_rmse_mm"] == 0.0
    assert m["pen_down_length_m"] == pytest.approx(0.05)
    assert m["inked_fraction"] == pytest.approx(0.028 / 0.05)  # steps 10..31 touch a dry sample
    assert m["spurious_ink_fraction"] == pytest.approx(0.05 / 0.078)
    shifted = xyz + board.axes()[3] * 0.002  # 2 mm off the surface
    assert writing_metrics(xyz, shifted, pen_down, inking, board)["tracking_rmse_mm"] == pytest.approx(2.0)


def test_character_error_rate():
    assert character_error_rate("hello world", "hello world") == 0
    assert character_error_rate("hello world", "  hello   world ") == 0
    assert character_error_rate("hello", "hallo") == pytest.approx(0.2)
    assert character_error_rate("abc", "") == 1
    assert character_error_rate("", "") == 0


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract OCR is not installed")
def test_ocr_reads_a_clean_board_as_nothing():
    board = BoardConfig()
    assert read_board(BoardCanvas(board, 1000, 0.004).image) == ""


def test_importing_the_simulator_writes_nothing():
    """PyBullet's C module writes its build date to stderr on import; every sim command showed it."""
    code = "import trajtok_sim.whiteboard, trajtok_sim.pick_place, trajtok_sim.bullet"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
