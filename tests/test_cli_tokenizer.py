"""`trajtok tokenizer fit | stats` as a user runs them: real files, exit codes (the `cli` fixture)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trajtok.chunk_tokenizer import ChunkTokenizer
from trajtok.tokenizer import TrajectoryTokenizer
from trajtok.tokenizer_choice import load_tokenizer


@pytest.fixture(scope="module")
def fitted_file(tmp_path_factory, cli) -> Path:
    out = tmp_path_factory.mktemp("tok") / "nested" / "tokenizer.json"
    result = cli("tokenizer", "fit", "hershey", "--n", "40", "--bins", "16", "--out", out)
    assert result.code == 0, result.err
    assert f"wrote {out}" in result.out and "40 trajectories" in result.out
    return out


def test_fit_writes_a_tokenizer_for_the_source_dims(fitted_file, cli):
    tokenizer = TrajectoryTokenizer.load(fitted_file, dim_names=("dx", "dy"), event_names=("pen_lift",))
    assert (tokenizer.n_bins, tokenizer.scheme, tokenizer.layout) == (16, "adaptive", "factorized")
    assert tokenizer.error_feedback and tokenizer.eos and tokenizer.fit_summary["n_trajectories"] == 40


def test_fit_options_reach_the_tokenizer(tmp_path, cli):
    out = tmp_path / "flat.json"
    result = cli(
        "tokenizer", "fit", "hershey", "--n", "20", "--scheme", "quantile", "--layout", "flat",
        "--no-error-feedback", "--no-eos", "--out", out,
    )  # fmt: skip
    assert result.code == 0, result.err
    tokenizer = TrajectoryTokenizer.load(out)
    assert (tokenizer.scheme, tokenizer.layout, tokenizer.error_feedback, tokenizer.eos) == (
        "quantile", "flat", False, False,
    )  # fmt: skip


def test_stats_prints_tables_and_saves_the_histogram(fitted_file, tmp_path, cli):
    png = tmp_path / "bins.png"
    result = cli("tokenizer", "stats", fitted_file, "hershey", "--n", "30", "--png", png)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert any(line.startswith("data: hershey:val: 30 trajectories") for line in lines)
    dx_row = next(line for line in lines if line.startswith("dx "))
    assert len(dx_row.split()) == 6 and float(dx_row.split()[1]) > 0  # dim, RMSE, max, clipped, [lo, hi]
    assert any(line.startswith("end-point drift") and "error feedback" in line for line in lines)
    assert "bins of dx" in result.out and "bins of dy" in result.out
    bin_rows = [line for line in lines if line[:4].strip().isdigit() and len(line.split()) == 6]
    assert len(bin_rows) == 2 * 16
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_user_errors_exit_2_with_one_line(tmp_path, fitted_file, cli):
    cli("tokenizer", "stats", tmp_path / "absent.json", "hershey").user_error("absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    cli("tokenizer", "stats", broken, "hershey").user_error("broken.json", "not valid JSON")
    binary = tmp_path / "strokes.npz"  # a file trajtok writes, given where the tokenizer goes
    np.savez(binary, points=np.zeros((3, 3)))
    cli("tokenizer", "stats", binary, "hershey").user_error("strokes.npz", "not a tokenizer's JSON")
    cli("tokenizer", "stats", tmp_path, "hershey").user_error(tmp_path.name, "a folder")
    gripper = TrajectoryTokenizer(("dx", "dy", "dz"), ("gripper",), n_bins=4)
    gripper.fit([np.random.default_rng(0).normal(size=(50, 3))]).save(tmp_path / "gripper.json")
    cli("tokenizer", "stats", tmp_path / "gripper.json", "hershey", "--n", "5").user_error(
        "gripper.json",
        "do not fit",
    )
    out = tmp_path / "never.json"
    cli("tokenizer", "fit", tmp_path / "nowhere.json", "--out", out).user_error("nowhere")
    cli("tokenizer", "fit", "hershey", "--bins", "1", "--out", out).user_error("--bins")
    cli("tokenizer", "fit", "hershey", "--n", "0", "--out", out).user_error("--n")
    cli("tokenizer", "fit", "hershey", "--n", "x", "--out", out).user_error("integer")
    assert not out.exists()
    for argv in (
        ["tokenizer", "fit", "hershey", "--scheme", "fancy", "--out", out],
        ["tokenizer", "fit", "hershey"],
        ["tokenizer"],
    ):
        result = cli(*argv)
        assert result.code == 2 and "Traceback" not in result.err, argv


@pytest.mark.parametrize("scheme", ["dct", "bspline"])
def test_chunk_schemes_fit_and_report_their_tokens(scheme, tmp_path, cli):
    out, png = tmp_path / f"{scheme}.json", tmp_path / f"{scheme}.png"
    result = cli("tokenizer", "fit", "hershey", "--n", "40", "--scheme", scheme, "--chunk", "8", "--out", out)
    assert result.code == 0, result.err
    assert f"{scheme} chunks of 8 steps" in result.out and "fewer than per-step bins" in result.out
    tokenizer = load_tokenizer(out, dim_names=("dx", "dy"), event_names=("pen_lift",))
    assert isinstance(tokenizer, ChunkTokenizer) and (tokenizer.scheme, tokenizer.chunk) == (scheme, 8)

    result = cli("tokenizer", "stats", out, "hershey", "--n", "10", "--png", png)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    tokens = next(line for line in lines if line.startswith("tokens: "))
    compression = float(tokens.split(": ")[-1].split("x")[0])
    assert compression > 1.0  # fewer tokens than one per dim and event a step
    dx_row = next(line for line in lines if line.startswith("dx "))
    assert 0 < float(dx_row.split()[1]) < 0.5  # RMSE of a delta, in x-heights
    drift = next(line for line in lines if line.startswith("end-point drift"))
    plain, fed = (float(part.split()[0]) for part in drift.split("plain ")[1].split(", error feedback "))
    assert fed < plain  # error feedback keeps the end point closer
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_options_of_the_other_kind_of_scheme_are_refused(tmp_path, cli):
    out = tmp_path / "never.json"
    cli("tokenizer", "fit", "hershey", "--scheme", "dct", "--bins", "8", "--out", out).user_error(
        "--bins", "chunk scheme dct"
    )
    cli("tokenizer", "fit", "hershey", "--scheme", "bspline", "--no-eos", "--out", out).user_error("--no-eos")
    cli("tokenizer", "fit", "hershey", "--n-levels", "64", "--out", out).user_error(
        "--n-levels", "per-step scheme adaptive"
    )
    cli("tokenizer", "fit", "hershey", "--scheme", "dct", "--chunk", "1", "--out", out).user_error("--chunk")
    assert not out.exists()
