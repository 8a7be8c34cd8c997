"""`trajtok sim write`: files written, exit codes, one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from trajtok.data.hershey import synthesize
from trajtok.strokes import integrate


@pytest.fixture(scope="module")
def strokes_npz(tmp_path_factory):
    """Strokes the way `trajtok write` saves them: `points` (T, 3) and `texts`."""
    sample = synthesize("hi", style_id=0, seed=0)
    path = tmp_path_factory.mktemp("strokes") / "hi.npz"
    np.savez(path, points=integrate(sample.deltas, sample.events[:, 0]), texts=np.array(["hi"]))
    return path


def test_write_from_strokes(strokes_npz, tmp_path, cli):
    out = tmp_path / "board.png"
    code, stdout, _ = cli(
        *["sim", "write", "--strokes", str(strokes_npz), "--out", str(out), "board.letter_height_m=0.05"]
    )
    assert code == 0
    assert out.stat().st_size > 1000 and (tmp_path / "board_tracking.png").stat().st_size > 1000
    metrics = json.loads((tmp_path / "board.json").read_text())
    assert metrics["text"] == "hi"  # taken from the file's `texts`
    assert metrics["inked_fraction"] >= 0.98 and metrics["tracking_rmse_mm"] <= 1.0
    assert "tracking RMSE" in stdout and str(out) in stdout


def test_write_from_a_model_checkpoint(tmp_path, cli, overfit_checkpoint):
    argv = ["sim", "write", "hi", "--checkpoint", str(overfit_checkpoint), "--temperature", "0", "--out"]
    code, _, err = cli(*argv, str(tmp_path / "board.png"))
    assert code == 0, err
    metrics = json.loads((tmp_path / "board.json").read_text())
    assert metrics["source"] == "model" and metrics["inked_fraction"] >= 0.98


def test_layout_words_writes_each_word_apart_on_the_board(tmp_path, cli):
    argv = [
        "sim",
        "write",
        "hi yo",
        "--temperature",
        "0",
        "--layout",
        "words",
        "--out",
        tmp_path / "board.png",
    ]
    code, out, err = cli(*argv)
    assert code == 0, err
    metrics = json.loads((tmp_path / "board.json").read_text())
    assert metrics["source"] == "model" and metrics["inked_fraction"] >= 0.98


def test_overrides_and_frames_after_the_options(tmp_path, cli):
    frames = tmp_path / "frames"
    argv = ["sim", "write", "o", "--synthetic", "--out", str(tmp_path / "o.png"), "--frames", str(frames)]
    code, _, err = cli(*argv, "board.letter_height_m=0.03", "frame_every_s=0.5")
    assert code == 0, err
    assert len(list(frames.glob("frame_*.png"))) >= 4


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a zip at all", "not a readable .npz"),
        (
            "no_points",
            r"bad.npz: a .npz without `points` / `points_<i>` \(trajtok write\) or train/valid/test",
        ),
        ("bad_shape", r"must be \(T, 3\)"),
        ("nan", "NaN"),
        ("line_nan", "`points_1` holds NaN"),
        ("bad_words", "`words_0` must hold an integer word for each of `points_0`"),
        ("empty_lines", "its lines .* hold no points"),
    ],
)
def test_bad_strokes_file_is_one_line_exit_2(content, message, tmp_path, cli):
    path = tmp_path / "bad.npz"
    line = np.array([[0, 0, 0], [1, 1, 1]], float)
    if content == "line_nan":
        np.savez(path, points=line, points_0=line, points_1=line * np.nan)
    elif content == "bad_words":
        np.savez(path, points=line, points_0=line, words_0=np.zeros(3, int))
    elif content == "empty_lines":
        np.savez(path, points=line, points_0=np.zeros((0, 3)))
    elif content == "no_points":
        np.savez(path, strokes=np.zeros((3, 3)))
    elif content == "bad_shape":
        np.savez(path, points=np.zeros((5, 2)))
    elif content == "nan":
        np.savez(path, points=np.array([[0, 0, 0], [np.nan, 1, 1]]))
    else:
        path.write_bytes(content)
    code, _, err = cli("sim", "write", "--strokes", str(path), "--out", str(tmp_path / "b.png"))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("trajtok: error: ") and str(path) in lines[0]
    assert re.search(message, lines[0])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--strokes", "missing.npz"], "No such file"),
        (["hi", "--synthetic", "board.no_such_key=1"], "unknown key"),
        (["hi", "--synthetic", "board.letter_height_m=0.5"], "fit=scale"),
        ([], "nothing to write"),
    ],
)
def test_user_errors_exit_2(argv, message, tmp_path, cli):
    code, _, err = cli("sim", "write", *argv, "--out", str(tmp_path / "b.png"))
    assert code == 2
    assert err.startswith("trajtok: error: ") and message in err and "Traceback" not in err


def test_a_board_picture_it_could_not_save_is_refused_before_the_robot_writes(tmp_path, cli):
    out = tmp_path / "board.txt"
    cli("sim", "write", "hi", "--synthetic", "--out", out).user_error("'" + str(out) + "' is not a picture")
    assert not list(tmp_path.iterdir())  # nothing written: no board, no tracking picture, no metrics


def test_sim_without_a_scene_shows_help_and_exits_2():
    done = subprocess.run([sys.executable, "-m", "trajtok", "sim"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "write" in done.stdout


def test_a_page_of_lines_is_read_as_its_lines_end_to_end_with_their_words(tmp_path):
    from trajtok.cli.sim import load_strokes

    first, second = (synthesize(t, style_id=0, seed=0) for t in ("robots can", "write"))
    lines = [integrate(s.deltas, s.events[:, 0]) for s in (first, second)]
    page = np.concatenate([lines[0], lines[1] - [0, 3.2, 0]])
    path = tmp_path / "page.npz"
    np.savez(path, points=page, points_0=lines[0], points_1=lines[1], texts=np.array(["robots can", "write"]),
             words_0=np.repeat([0, 1], [40, len(lines[0]) - 40]))  # fmt: skip
    points, words, text = load_strokes(str(path))
    assert text == "robots can write" and len(points) == len(page)
    assert words.tolist() == [0] * 40 + [1] * (len(lines[0]) - 40) + [2] * len(lines[1])
    gap = points[len(lines[0]) :, 0].min() - points[: len(lines[0]), 0].max()
    assert gap == pytest.approx(1.0, abs=1e-4) and np.ptp(points[:, 1]) < 3  # a word gap apart, one line


def test_a_synthetic_hand_declares_its_words_so_a_slanted_phrase_wraps_between_them():
    from trajtok.board import BoardConfig
    from trajtok.cli.sim import synthetic_strokes
    from trajtok.waypoints import plan_waypoints

    points, words = synthetic_strokes("quick lucky foot", style=5, seed=38)
    assert len(words) == len(points) and set(words.tolist()) == {0, 1, 2}
    assert np.all(np.diff(words) >= 0)
    with pytest.raises(ValueError, match="outside the writable board area"):  # a gap the board cannot see
        plan_waypoints(points, BoardConfig())
    assert len(plan_waypoints(points, BoardConfig(), words=words)) > 0


def ct_json(path, words: list[str], nan_in: str | None = None):
    """A cursive-transformer JSON file of the words (page units, y down), as people's word banks are."""
    from trajtok.strokes import split_strokes

    records = []
    for word in words:
        sample = synthesize(word, style_id=2, seed=1)
        points = []
        for stroke in split_strokes(integrate(sample.deltas, sample.events[:, 0])):
            for j, (x, y) in enumerate(stroke):
                x = float("nan") if word == nan_in else float(0.02 * x + 0.1)
                points.append([x, float(0.5 - 0.02 * y), 0 if j == len(stroke) - 1 else 1])
        records.append({"metadata": {"asciiSequence": word, "aspectRatio": 1.0}, "points": points})
    path.write_text(json.dumps(records))
    return path


def test_an_ink_file_goes_to_the_board_its_records_end_to_end_each_a_declared_word(tmp_path):
    from trajtok.board import BoardConfig
    from trajtok.cli.sim import load_strokes
    from trajtok.waypoints import plan_waypoints

    words = ["Spider", "warm", "go"]
    points, declared, text = load_strokes(str(ct_json(tmp_path / "words.json", words)))
    assert text == "Spider warm go"
    assert set(declared.tolist()) == {0, 1, 2} and (np.diff(declared) >= 0).all()
    for k in (0, 1):  # one line: each word a gap right of the one before (handwriting units)
        gap = points[declared == k + 1, 0].min() - points[declared == k, 0].max()
        assert gap == pytest.approx(1.0, abs=1e-3)
    assert len(plan_waypoints(points, BoardConfig(), words=declared)) > 0


def test_an_ink_file_with_an_unreadable_record_is_refused_naming_it(tmp_path, cli):
    path = ct_json(tmp_path / "words.json", ["river", "stone"], nan_in="stone")
    code, _, err = cli("sim", "write", "--strokes", str(path), "--out", str(tmp_path / "b.png"))
    assert code == 2 and "Traceback" not in err
    assert "words.json: record 1" in err and "NaN" in err and len(err.strip().splitlines()) == 1
