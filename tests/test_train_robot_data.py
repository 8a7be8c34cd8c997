"""Training on any robot dataset: data.source a LeRobot folder, its loader options in data.options, any D."""

import ast
import json
from pathlib import Path

import pytest

from trajtok.tokenizer import TrajectoryTokenizer

ROOT = Path(__file__).parents[1]
SO101 = ROOT / "tests" / "fixtures" / "gripper" / "lerobot_so101"  # 6 joints, gripper.pos 0..40, no state
TINY = [
    "model.d_model=32",
    "model.d_ff=64",
    "model.n_heads=2",
    "model.n_enc_layers=1",
    "model.n_dec_layers=1",
    "model.state_dim=0",
    "warmup_steps=1",
    "steps=2",
    "checkpoint_every=2",
    "data.n_train=2",
    "data.n_val=1",
    "batch_size=2",
]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAJTOK_CACHE", str(tmp_path / "cache"))


def test_train_gripper_on_joint_space_lerobot_with_data_options(tmp_path, cli, one_torch_thread):
    run_dir = tmp_path / "run"
    source = [f"data.source={SO101}", "data.options.gripper_threshold=20"]
    run = cli("train", "gripper", "--run-dir", run_dir, *source, *TINY)
    assert run.code == 0, run.err
    assert f"preparing {SO101} (train)" in run.err  # the data progress bar, before training starts
    tokenizer = TrajectoryTokenizer.load(run_dir / "tokenizer.json")
    assert tokenizer.dim_names[0] == "shoulder_pan.pos" and len(tokenizer.dim_names) == 5
    assert tokenizer.event_names == ("gripper",)
    assert (run_dir / "checkpoints" / "latest.pt").is_file()
    assert json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 2


def test_unused_or_misplaced_data_options_are_refused(tmp_path, cli):
    run = cli(
        "train", "gripper", "--run-dir", tmp_path / "a", f"data.source={SO101}", "data.options.nope=1", *TINY
    )
    run.user_error("unknown option(s) nope", "gripper_threshold")
    run = cli("train", "gripper", "--run-dir", tmp_path / "b", f"data.source={SO101}", *TINY)
    run.user_error("gripper.pos", "--option gripper_threshold")
    run = cli("train", "handwriting", "--run-dir", tmp_path / "c", "data.options.events=none", "steps=1")
    run.user_error("data.options", "hershey")


def test_too_little_data_says_so_and_too_long_samples_say_what_to_raise(tmp_path, cli):
    source = [f"data.source={SO101}", "data.options.gripper_threshold=20"]
    small = [item for item in TINY if not item.startswith("batch_size")]
    run = cli(
        "train", "gripper", "--run-dir", tmp_path / "a", *source, *small, "batch_size=64", "data.n_train=99"
    )
    run.user_error("all of which fit the model: too few for a batch (batch_size=64)", "or set batch_size=")
    n_train = int(run.err.split(" gives ")[1].split()[0])
    assert f"or set batch_size={n_train} or lower" in run.err  # the most that makes a batch
    run = cli("train", "gripper", "--run-dir", tmp_path / "b", *source, *TINY, "model.max_steps=4")
    run.user_error("'longer than model.max_steps'", "raise model.max_steps")


def test_trajtok_never_imports_trajtok_sim_outside_the_cli():
    """Data flows one way: trajtok_sim may import trajtok; trajtok reaches the sim only from trajtok/cli."""
    offenders = []
    for path in sorted((ROOT / "trajtok").rglob("*.py")):
        if "cli" in path.relative_to(ROOT / "trajtok").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "trajtok_sim"]
    assert offenders == []
