"""The gripper commands: `trajtok data make-gripper` (and, with a trained model, `trajtok sim pick`)."""

import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from trajtok.config import load_config
from trajtok.data import load_source
from trajtok.data.gripper import load_gripper_demos
from trajtok.train import train
from trajtok.train_config import TrainConfig

pytest.importorskip("pybullet")


def test_make_gripper_writes_demos_and_reports_the_expert(tmp_path, cli):
    run = cli("data", "make-gripper", "--episodes", "2", "--seed", "4", "--out", tmp_path)
    assert run.code == 0, run.err
    figures = json.loads(run.out.strip().splitlines()[-1])
    assert figures["episodes"] == 2 and figures["expert_success_rate"] == 1.0
    loaded = load_gripper_demos(figures["path"])
    assert len(loaded) == 2 and loaded.dim_names == ("dx", "dy", "dz")

    # `data show` draws them as motion (from above + position per step), not as handwriting
    picture = tmp_path / "show.png"
    run = cli("data", "show", figures["path"], "--split", "all", "--n", "2", "--out", picture)
    assert run.code == 0 and run.out.strip().endswith(f"2 samples from {figures['path']} -> {picture}")
    height, width, _ = imread(picture).shape
    assert (height, width) == (520, 900)  # one row of two panels per episode


def test_make_gripper_lerobot_export_loads_as_the_same_demos(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("TRAJTOK_CACHE", str(tmp_path / "cache"))
    ours, theirs = tmp_path / "ours", tmp_path / "lerobot"
    for fmt, out in (("trajtok", ours), ("lerobot", theirs)):
        run = cli("data", "make-gripper", "--episodes", "3", "--seed", "5", "--format", fmt, "--out", out)
        assert run.code == 0, run.err
    assert json.loads(run.out.strip().splitlines()[-1])["format"] == "lerobot"
    assert json.loads((theirs / "meta" / "info.json").read_text())["codebase_version"] == "v3.0"
    a, b = load_source(str(ours), split="all"), load_source(str(theirs), split="all")
    assert (a.dim_names, a.event_names) == (b.dim_names, b.event_names) and len(a) == len(b) == 3
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.deltas, y.deltas)
        np.testing.assert_array_equal(x.events, y.events)
        np.testing.assert_array_equal(x.state, y.state)
        assert x.text == y.text
    stats = cli("data", "stats", theirs, "--split", "all")
    assert "LeRobot v3.0, 10 fps" in stats.out and "gripper closed where action[3] > 0.5" in stats.out


def test_make_gripper_refuses_no_episodes(tmp_path, cli):
    run = cli("data", "make-gripper", "--episodes", "0", "--out", tmp_path)
    assert run.user_error() == "trajtok: error: episodes must be >= 1, got 0"
    assert not list(tmp_path.iterdir())


def test_sim_pick_refuses_a_missing_or_handwriting_checkpoint(tmp_path, cli, monkeypatch):
    cli("sim", "pick", "--checkpoint", tmp_path / "nothing", "--episodes", "1").user_error()

    monkeypatch.setenv("TRAJTOK_CACHE", str(tmp_path / "cache"))
    tiny = Path(__file__).parents[1] / "configs" / "tiny.yaml"
    train(load_config(TrainConfig, tiny, ["steps=2", "checkpoint_every=2"]), tmp_path / "handwriting")
    error = cli("sim", "pick", "--checkpoint", tmp_path / "handwriting", "--episodes", "1").user_error()
    assert "('dx', 'dy')" in error and "('dx', 'dy', 'dz')" in error
