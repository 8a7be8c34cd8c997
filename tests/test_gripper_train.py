"""`trajtok train gripper` end to end on a few expert demos: the same loop and model, conditioned on state."""

import json

import numpy as np
import pytest

from trajtok.data.gripper import policy_state
from trajtok.generate import Sampling, Writer
from trajtok.train import train
from trajtok.train_config import load_train_config

pytest.importorskip("pybullet")
from trajtok_sim.demos import pickplace_demos, register, scene_of  # noqa: E402
from trajtok_sim.pick_place import PickPlaceSim  # noqa: E402

TINY = [
    "model.d_model=64",
    "model.d_ff=128",
    "model.n_enc_layers=1",
    "model.n_dec_layers=2",
    "lr=3e-3",
    "warmup_steps=10",
    "data.n_val=1",
]


@pytest.fixture(scope="module")
def overfit_run(tmp_path_factory, cli):
    """`trajtok train gripper` on 3 expert demos until it has memorized them."""
    root = tmp_path_factory.mktemp("gripper")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRAJTOK_CACHE", str(root / "cache"))
        args = ["train", "gripper", "--run-dir", str(root / "run"), "--overfit", "3"]
        run = cli(*args, *TINY, "steps=150", "checkpoint_every=150")
        assert run.code == 0, run.err
        assert "preparing pickplace (train)" in run.err  # the demos' progress bar (generated on first use)
    return root / "run"


@pytest.mark.slow
def test_overfit_model_replays_its_demos_in_the_sim(overfit_run):
    writer = Writer.from_checkpoint(overfit_run)
    assert writer.tokenizer.dim_names == ("dx", "dy", "dz") and writer.model.config.state_dim == 6
    demos = pickplace_demos("train", n=3, seed=0)  # the run's training scenes (config seed 0)
    written = writer.write(
        demos.instruction, Sampling(temperature=0.0, max_steps=100), state=policy_state(demos.state)
    )
    with PickPlaceSim() as sim:
        for i, sample in enumerate(written):
            assert len(sample) == len(demos.deltas[i])  # it learned where the episode ends
            np.testing.assert_array_equal(sample.events[:, 0], demos.gripper[i])
            assert sim.run(scene_of(demos, i), sample.deltas, sample.events[:, 0]).success


@pytest.mark.slow
def test_sim_pick_reports_model_and_expert(overfit_run, tmp_path, cli):
    png = tmp_path / "pick.png"
    run = cli("sim", "pick", "--checkpoint", overfit_run, "--episodes", "2", "--seed", "3", "--out", png)
    assert run.code == 0, run.err
    figures = json.loads(run.out.strip().splitlines()[-1])
    assert figures["episodes"] == 2 and figures["expert_success_rate"] == 1.0
    assert 0.0 <= figures["success_rate"] <= 1.0 and png.stat().st_size > 0


def test_state_size_must_match_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAJTOK_CACHE", str(tmp_path / "cache"))
    register()  # "pickplace" is a trajtok_sim source; the CLI registers it, library users do
    config = load_train_config("gripper", None, [*TINY, "overfit=2", "steps=1", "model.state_dim=4"])
    with pytest.raises(ValueError, match="state_dim"):
        train(config, tmp_path / "run")
