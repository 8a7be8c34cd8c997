"""`trajtok train`: user errors, a SIGKILLed run resumed from its checkpoint, DDP ranks in agreement."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "configs" / "tiny.yaml")
BIN = Path(sys.executable).parent


def metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def checkpoint_step(path: Path) -> int:
    return int(torch.load(path, weights_only=True)["extra"]["step"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--run-dir", "RUN", "nope=1"], "override 'nope=1': unknown key(s) nope"),
        (["--run-dir", "RUN", "steps=many"], "expected int"),
        (["--run-dir", "RUN", "model.n_heads=5"], "multiple of model.n_heads"),
        (["--run-dir", "RUN", "device=tpu"], "not one of"),
        (["--run-dir", "RUN", "seed=-1"], "override 'seed=-1': seed must be a whole number from 0 to 2^63-1"),
        (["--run-dir", "RUN", "steps"], "expected key=value"),
        (["--run-dir", "RUN", "--config", "missing.yaml"], "config file not found"),
        (["--resume", "RUN"], "run: no such folder; --resume takes the folder a `trajtok train` run made"),
        (["--resume", "."], ": not a run directory (no config.yaml); --resume takes the folder"),
        (["--resume", "RUN", "--config", TINY], "drop --config"),
    ],
)
def test_bad_settings_exit_2_with_one_line(args, message, cli, tmp_path):
    run = tmp_path / "run"
    result = cli("train", "handwriting", *[str(run) if a == "RUN" else a for a in args])
    result.user_error(message)
    assert "\n" not in result.err.strip()
    assert not (run / "checkpoints").exists()


def test_overrides_after_options_and_an_existing_run_dir(cli, tmp_path):
    run = tmp_path / "run"
    result = cli("train", "handwriting", "--config", TINY, "--run-dir", run, "steps=4", "sample_every=0")
    assert result.code == 0 and "trained 4 steps" in result.out
    assert "(training curves: curves.png)" in result.out and (run / "curves.png").stat().st_size > 10_000
    again = cli("train", "handwriting", "--resume", run)  # finished: no step left, no 'train loss nan'
    assert again.code == 0, again.err
    assert "trained 4 steps" in again.out and "no step left to take" in again.out
    cli("train", "handwriting", "--config", TINY, "--run-dir", run, "steps=4").user_error(
        "already holds a run"
    )


@pytest.mark.slow
def test_sigkill_then_resume_continues_from_the_last_checkpoint(tmp_path):
    run = tmp_path / "run"
    latest = run / "checkpoints" / "latest.pt"
    command = [str(BIN / "trajtok"), "train", "handwriting", "--config", TINY, "--run-dir", str(run)]
    child = subprocess.Popen(
        [*command, "steps=2000", "checkpoint_every=10", "sample_every=0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not (latest.is_file() and checkpoint_step(latest) >= 20):
            assert child.poll() is None and time.monotonic() < deadline, "no checkpoint before the deadline"
            time.sleep(0.2)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    killed_at = checkpoint_step(latest)  # complete: a write the kill interrupted is a temporary file
    assert 20 <= killed_at < 2000

    done = subprocess.run(
        [str(BIN / "trajtok"), "train", "handwriting", "--resume", str(run), f"steps={killed_at + 10}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"trained {killed_at + 10} steps" in done.stdout
    records = metrics(run)
    resumes = [m["step"] for m in records if m["kind"] == "resume"]
    assert resumes == [killed_at]
    train_steps = [m["step"] for m in records if m["kind"] == "train"]
    assert train_steps == sorted(set(train_steps))  # nothing logged twice: the killed tail was dropped
    assert train_steps[-1] == killed_at + 10
    assert checkpoint_step(latest) == killed_at + 10
    assert not list(latest.parent.glob(".*.tmp"))  # the resume cleared any torn write


@pytest.mark.slow
def test_torchrun_two_cpu_ranks_end_with_identical_weights(tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [
            str(BIN / "torchrun"),
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "trajtok",
            "train",
            "handwriting",
            "--config",
            TINY,
            "--run-dir",
            str(run),
            "steps=6",
            "sample_every=0",
        ],
        capture_output=True,
        text=True,
        timeout=150,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (ddp,) = [m for m in metrics(run) if m["kind"] == "ddp"]
    assert ddp["world_size"] == 2 and ddp["step"] == 6
    first, second = ddp["weight_digests"]
    assert first == second
    assert done.stdout.count("trained 6 steps") == 1  # rank 0 alone reports
