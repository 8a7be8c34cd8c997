"""The gripper commands: `trajtok data make-gripper` (and, with a trained model, `trajtok sim pick`)."""

import json
from pathlib import Path

import pytest
from matplotlib.image import imread

from trajtok.cli import main
from trajtok.config import load_config
from trajtok.data.gripper import load_gripper_demos
from trajtok.train import train
from trajtok.train_config import TrainConfig

pytest.importorskip("pybullet")


def test_make_gripper_writes_demos_and_reports_the_expert(tmp_path, capsys):
    assert main(["data", "make-gripper", "--episodes", "2", "--seed", "4", "--out", str(tmp_path)]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["episodes"] == 2 and figures["expert_success_rate"] == 1.0
    loaded = load_gripper_demos(figures["path"])
    assert len(loaded) == 2 and loaded.dim_names == ("dx", "dy", "dz")

    # `data show` draws them as motion (from above + position per step), not as handwriting
    picture = tmp_path / "show.png"
    assert main(["data", "show", figures["path"], "--n", "2", "--out", str(picture)]) == 0
    assert capsys.readouterr().out.strip().endswith(f"2 samples from {figures['path']} -> {picture}")
    height, width, _ = imread(picture).shape
    assert (height, width) == (520, 900)  # one row of two panels per episode


def test_make_gripper_refuses_no_episodes(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "make-gripper", "--episodes", "0", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "trajtok: error: episodes must be >= 1, got 0"
    assert not list(tmp_path.iterdir())


def test_sim_pick_refuses_a_missing_or_handwriting_checkpoint(tmp_path, capsys, monkeypatch):
    with pytest.raises(SystemExit) as exit_info:
        main(["sim", "pick", "--checkpoint", str(tmp_path / "nothing"), "--episodes", "1"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("trajtok: error: ")

    monkeypatch.setenv("TRAJTOK_CACHE", str(tmp_path / "cache"))
    tiny = Path(__file__).parents[1] / "configs" / "tiny.yaml"
    train(load_config(TrainConfig, tiny, ["steps=2", "checkpoint_every=2"]), tmp_path / "handwriting")
    with pytest.raises(SystemExit) as exit_info:
        main(["sim", "pick", "--checkpoint", str(tmp_path / "handwriting"), "--episodes", "1"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "('dx', 'dy')" in error and "('dx', 'dy', 'dz')" in error
