"""Sampling options, seeds and devices out of range are refused by name when the options are read, before a
model or any data loads."""

import pytest
import torch


@pytest.mark.parametrize(
    "argv, message",
    [
        (["write", "hi", "--max-steps", "0"], "argument --max-steps: must be at least 1, got 0"),
        (["write", "hi", "--temperature", "-1"], "argument --temperature: must be >= 0, got -1.0"),
        (["write", "hi", "--temperature", "nan"], "argument --temperature: expected a finite number"),
        (["write", "hi", "--top-k", "0"], "argument --top-k: must be at least 1, got 0"),
        (["write", "hi", "--top-p", "2"], "argument --top-p: must be in (0, 1], got 2.0"),
        (["write", "hi", "--top-p", "0"], "argument --top-p: must be in (0, 1], got 0.0"),
        (["write", "hi", "--top-p", "most"], "argument --top-p: expected a number, got 'most'"),
        (["sim", "write", "hi", "--temperature", "-0.5"], "argument --temperature: must be >= 0"),
        (["sim", "pick", "--temperature", "inf"], "argument --temperature: expected a finite number"),
        (["write", "hi", "--seed", "-1"], "argument --seed: must be a whole number from 0 to 2^63-1, got -1"),
        (["write", "hi", "--seed", str(2**64)], "argument --seed: must be a whole number from 0 to 2^63-1"),
        (["write", "hi", "--seed", "one"], "argument --seed: expected an integer, got 'one'"),
        (["sim", "write", "hi", "--seed", "-2"], "argument --seed: must be a whole number"),
        (["sim", "pick", "--seed", "-2"], "argument --seed: must be a whole number"),
        (["data", "show", "hershey", "--seed", "-5"], "argument --seed: must be a whole number"),
        (["data", "make-gripper", "--seed", "-3"], "argument --seed: must be a whole number"),
        (["data", "show", "hershey", "--columns", "0"], "argument --columns: must be at least 1, got 0"),
    ],
)
def test_out_of_range_is_refused_by_name(argv, message, cli):
    cli(*argv).user_error(message)


def test_in_range_values_write(tmp_path, cli):
    out = tmp_path / "x.png"
    run = cli(
        "write", "hi", "--out", out, "--temperature", "0.5", "--top-k", "5", "--top-p", "1", "--seed", 1
    )
    assert run.code == 0 and out.is_file()


def test_the_largest_seed_writes_drafts_with_the_seeds_after_it_wrapped_round(tmp_path, cli):
    out = tmp_path / "x.png"
    run = cli("write", "hi", "--out", out, "--seed", 2**63 - 1, "--drafts", 2)
    assert run.code == 0 and out.is_file()


def test_a_device_torch_cannot_use_here_is_refused_by_name_not_taken_for_a_damaged_checkpoint(cli):
    cli("write", "hi", "--device", "tpu").user_error("argument --device: torch knows no device 'tpu'")
    cli("write", "hi", "--device", "meta").user_error("argument --device: trajtok runs on cpu, cuda")
    if not torch.cuda.is_available():
        cli("write", "hi", "--device", "cuda").user_error(
            "argument --device: this machine has no CUDA device"
        )
