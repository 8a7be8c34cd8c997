"""`trajtok tokenizer fit | stats` as a user runs them: real processes, real files, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trajtok.tokenizer import TrajectoryTokenizer

TRAJTOK = Path(sys.executable).parent / "trajtok"


def trajtok(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(TRAJTOK), *map(str, args)], capture_output=True, text=True, timeout=120)


def assert_user_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in last, last


@pytest.fixture(scope="module")
def fitted_file(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tok") / "nested" / "tokenizer.json"
    result = trajtok("tokenizer", "fit", "--source", "hershey", "--n", "40", "--bins", "16", "--out", out)
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout and "40 trajectories" in result.stdout
    return out


def test_fit_writes_a_tokenizer_for_the_source_dims(fitted_file):
    tokenizer = TrajectoryTokenizer.load(fitted_file, dim_names=("dx", "dy"), event_names=("pen_lift",))
    assert (tokenizer.n_bins, tokenizer.scheme, tokenizer.layout) == (16, "adaptive", "factorized")
    assert tokenizer.error_feedback and tokenizer.eos and tokenizer.fit_summary["n_trajectories"] == 40


def test_fit_options_reach_the_tokenizer(tmp_path):
    out = tmp_path / "flat.json"
    result = trajtok(
        "tokenizer", "fit", "--source", "hershey", "--n", "20", "--scheme", "quantile", "--layout", "flat",
        "--no-error-feedback", "--no-eos", "--out", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    tokenizer = TrajectoryTokenizer.load(out)
    assert (tokenizer.scheme, tokenizer.layout, tokenizer.error_feedback, tokenizer.eos) == (
        "quantile", "flat", False, False,
    )  # fmt: skip


def test_stats_prints_tables_and_saves_the_histogram(fitted_file, tmp_path):
    png = tmp_path / "bins.png"
    result = trajtok("tokenizer", "stats", fitted_file, "--source", "hershey", "--n", "30", "--png", png)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("data: hershey:val: 30 trajectories") for line in lines)
    dx_row = next(line for line in lines if line.startswith("dx "))
    assert len(dx_row.split()) == 6 and float(dx_row.split()[1]) > 0  # dim, RMSE, max, clipped, [lo, hi]
    assert any(line.startswith("end-point drift") and "error feedback" in line for line in lines)
    assert "bins of dx" in result.stdout and "bins of dy" in result.stdout
    bin_rows = [line for line in lines if line[:4].strip().isdigit() and len(line.split()) == 6]
    assert len(bin_rows) == 2 * 16
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_user_errors_exit_2_with_one_line(tmp_path, fitted_file):
    assert_user_error(
        trajtok("tokenizer", "stats", tmp_path / "absent.json", "--source", "hershey"), "absent.json"
    )
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert_user_error(
        trajtok("tokenizer", "stats", broken, "--source", "hershey"), "broken.json", "not valid JSON"
    )
    gripper = TrajectoryTokenizer(("dx", "dy", "dz"), ("gripper",), n_bins=4)
    gripper.fit([np.random.default_rng(0).normal(size=(50, 3))]).save(tmp_path / "gripper.json")
    assert_user_error(
        trajtok("tokenizer", "stats", tmp_path / "gripper.json", "--source", "hershey", "--n", "5"),
        "gripper.json",
        "do not fit",
    )
    out = tmp_path / "never.json"
    assert_user_error(
        trajtok("tokenizer", "fit", "--source", tmp_path / "nowhere.json", "--out", out), "nowhere"
    )
    assert_user_error(
        trajtok("tokenizer", "fit", "--source", "hershey", "--bins", "1", "--out", out), "--bins"
    )
    assert_user_error(trajtok("tokenizer", "fit", "--source", "hershey", "--n", "0", "--out", out), "--n")
    assert_user_error(trajtok("tokenizer", "fit", "--source", "hershey", "--n", "x", "--out", out), "integer")
    assert not out.exists()
    for argv in (
        ["tokenizer", "fit", "--source", "hershey", "--scheme", "fancy", "--out", out],
        ["tokenizer", "fit", "--source", "hershey"],
        ["tokenizer"],
    ):
        result = trajtok(*argv)
        assert result.returncode == 2 and "Traceback" not in result.stderr, argv
