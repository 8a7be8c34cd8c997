"""The gripper commands: `trajtok data make-gripper` (and, with a trained model, `trajtok sim pick`)."""

import json

import pytest

from trajtok.cli import main
from trajtok.data.gripper import load_gripper_demos

pytest.importorskip("pybullet")


def test_make_gripper_writes_demos_and_reports_the_expert(tmp_path, capsys):
    assert main(["data", "make-gripper", "--episodes", "2", "--seed", "4", "--out", str(tmp_path)]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["episodes"] == 2 and figures["expert_success_rate"] == 1.0
    loaded = load_gripper_demos(figures["path"])
    assert len(loaded) == 2 and loaded.dim_names == ("dx", "dy", "dz")


def test_make_gripper_refuses_no_episodes(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "make-gripper", "--episodes", "0", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "trajtok: error: episodes must be >= 1, got 0"
    assert not list(tmp_path.iterdir())
